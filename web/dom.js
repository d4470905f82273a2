// Small DOM helpers shared by the views. Text always goes in as text, never as HTML.

export const $ = (id) => document.getElementById(id);

export function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("icon");
  const use = document.createElementNS("http://www.w3.org/2000/svg", "use");
  use.setAttribute("href", `icons.svg#${name}`);
  svg.append(use);
  return svg;
}

/// A small button that shows only an icon: its label is for screen readers and the tooltip.
export function iconButton(label, iconName, className, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `small ${className}`;
  button.setAttribute("aria-label", label);
  button.title = label;
  button.append(icon(iconName));
  button.addEventListener("click", onClick);
  return button;
}

export function srOnly(text) {
  const span = document.createElement("span");
  span.className = "sr-only";
  span.textContent = text;
  return span;
}

/// A list row for a person: the phone or browser symbol and the name.
export function personRow(className, kind, name) {
  const li = document.createElement("li");
  li.className = className;
  li.dataset.kind = kind || "other";
  li.append(icon(kind === "phone" ? "phone" : "browser"));
  const span = document.createElement("span");
  span.className = "name";
  span.textContent = name;
  li.append(span);
  return li;
}

/// Up to two initials of a name, for an avatar.
export function initials(name) {
  const words = (name || "?").trim().split(/\s+/).filter((w) => /\p{L}|\p{N}/u.test(w));
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0] || "?"];
  return letters.map((w) => [...w][0].toUpperCase()).join("");
}

/// A colour for a person, stable across the meeting (from the id), for avatars.
export function hue(id) {
  return (Number(id) * 137) % 360;
}
