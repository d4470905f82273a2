// If a module of the client failed to load (the network changed mid-load, a dropped connection), the
// page would stay dead: load it once more. A classic script, so it runs even when the modules do not.
addEventListener("load", () => {
  if (document.documentElement.dataset.client === "ready") {
    sessionStorage.removeItem("plenum.reloaded");
  } else if (!sessionStorage.getItem("plenum.reloaded")) {
    sessionStorage.setItem("plenum.reloaded", "1");
    location.reload();
  }
});
