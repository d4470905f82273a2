// The page's language: English or German, chosen by ?lang=, BigBlueButton's
// userdata-bbb_override_default_locale (kept across the API's join redirect), the choice saved in
// this browser, or the browser's own language. Views re-render on its "change" event.
import { strings, errors, pickLanguage, format } from "./i18n.js";

export const locale = new EventTarget();
let current = pickLanguage();

export const language = () => current;

export function setLanguage(value) {
  if (!strings[value] || value === current) return;
  current = value;
  localStorage.setItem("plenum.language", value);
  locale.dispatchEvent(new Event("change"));
}

export const t = (key, values) => format(strings[current][key] ?? strings.en[key] ?? key, values);

/// A refusal from the server in the reader's language, by its code (docs/signalling.md); a code this
/// page does not know yet shows the server's English text.
export function errorText(error) {
  const text = (errors[current] || errors.en)[error.code] ?? errors.en[error.code];
  return text ? format(text, { seconds: error.retryAfter ?? "" }) : t("failed", { reason: error.message || error.code });
}

/// Fills the static texts of the page (`data-i18n`, `data-i18n-aria-label`, `data-i18n-placeholder`).
export function translatePage() {
  document.documentElement.lang = current;
  for (const element of document.querySelectorAll("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  for (const element of document.querySelectorAll("[data-i18n-aria-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nAriaLabel));
  }
  for (const element of document.querySelectorAll("[data-i18n-placeholder]")) {
    element.setAttribute("placeholder", t(element.dataset.i18nPlaceholder));
  }
}
