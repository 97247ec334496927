// Starts the app (no inline script: the page policy forbids it) and registers the service worker.
import init from "./__JS__";
init({ module_or_path: "/staff/__WASM__" });
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/staff/sw.js", { scope: "/staff/" }).catch(() => {});
}
