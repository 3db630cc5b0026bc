// The till's service worker (served at /pos/sw.js, scope /pos): keeps the till page and its
// assets so /pos opens and sells with the server down. The page is fetched network-first (a new
// version shows at once when online) and falls back to the kept copy; the assets are served from
// the cache. CACHE names the version: the server puts a digest of the till's assets in place of
// __ASSETS_VERSION__ (app/web/pos_till.py), so changed assets make a new worker, whose new cache
// replaces the old one on activate. The POS API is never cached here: the catalog and the queue
// live in IndexedDB (store.js).

const CACHE = "np-pos-__ASSETS_VERSION__";
const PAGE = "/pos";
const ASSETS = ["/static/pos/pos.css", "/static/pos/pos.js", "/static/pos/pricing.js", "/static/pos/store.js", "/static/pos/qrcode.js"];

// Only the till shell is kept, never the "how to enrol" page a browser without a till cookie gets.
function isTillPage(response) {
  return response.ok && response.headers.get("X-Till-Page") === "till";
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(ASSETS);
    const page = await fetch(PAGE, { credentials: "same-origin" });
    if (isTillPage(page)) await cache.put(PAGE, page);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === PAGE) {
    event.respondWith((async () => {
      try {
        const response = await fetch(event.request);
        if (isTillPage(response)) (await caches.open(CACHE)).put(PAGE, response.clone());
        return response;
      } catch (error) {
        const kept = await caches.match(PAGE);
        if (kept) return kept;
        throw error;
      }
    })());
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith((async () => (await caches.match(url.pathname)) || fetch(event.request))());
  }
});
