// Starts the booking page (no inline script: the page policy forbids it).
import init from "./__JS__";
init({ module_or_path: "/book/__WASM__" });
