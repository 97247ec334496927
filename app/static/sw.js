// SafeMarket Staff service worker (scope /staff/). The build replaces __CACHE__ and __FILES__:
// the shell and its hashed files are cached on install, so the app opens without a network;
// pages are network-first (the shell names the current build), hashed files cache-first, the
// API never cached (the app says it is offline instead).
const CACHE = "__CACHE__";
const SHELL = "/staff/";
const FILES = __FILES__;
self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll([SHELL, ...FILES])).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("staff-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/staff")) return;
  if (e.request.mode === "navigate") {
    e.respondWith(
      fetch(e.request).catch(() => caches.open(CACHE).then((c) => c.match(SHELL))),
    );
    return;
  }
  e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
});
