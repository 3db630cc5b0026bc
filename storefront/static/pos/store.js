// The till's own storage (IndexedDB "np-pos"), kept across browser restarts so the till sells
// with the server down:
//   kv        session (the clerk's token, bound to this till), catalog (+ its ETag), shift,
//             sale sequence, paper width
//   queue     operations for POST /api/v1/pos/sync, in the order made (auto-increment key)
//   receipts  every sale of this till (reprint), by client id

const DB_NAME = "np-pos";
const DB_VERSION = 1;
let opened = null;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error);
  });
}

export function open() {
  if (!opened) {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("kv");
      db.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
      const receipts = db.createObjectStore("receipts", { keyPath: "client_id" });
      receipts.createIndex("shift", "shift_client_id");
    };
    opened = promised(request);
  }
  return opened;
}

export async function get(key) {
  const db = await open();
  return promised(db.transaction("kv").objectStore("kv").get(key));
}

export async function put(key, value) {
  const db = await open();
  const tx = db.transaction("kv", "readwrite");
  tx.objectStore("kv").put(value, key);
  return done(tx);
}

export async function remove(key) {
  const db = await open();
  const tx = db.transaction("kv", "readwrite");
  tx.objectStore("kv").delete(key);
  return done(tx);
}

/** Queue ``op`` and, in the same transaction, write kv entries and a receipt: a sale is either
 * queued with its receipt and the sequence it used, or not at all. */
export async function enqueue(op, { kv = {}, receipt = null } = {}) {
  const db = await open();
  const tx = db.transaction(["queue", "kv", "receipts"], "readwrite");
  tx.objectStore("queue").add({ client_id: op.client_id, op, error: null });
  for (const [key, value] of Object.entries(kv)) tx.objectStore("kv").put(value, key);
  if (receipt) tx.objectStore("receipts").put(receipt);
  return done(tx);
}

export async function queued(limit) {
  const db = await open();
  return promised(db.transaction("queue").objectStore("queue").getAll(null, limit));
}

export async function queueCount() {
  const db = await open();
  return promised(db.transaction("queue").objectStore("queue").count());
}

/** Apply the server's answers: drop recorded / duplicate ops, note the error on rejected ones. */
export async function settle(entries, results) {
  const db = await open();
  const tx = db.transaction(["queue", "receipts"], "readwrite");
  const queue = tx.objectStore("queue");
  const receipts = tx.objectStore("receipts");
  const byId = new Map(results.map((r) => [r.client_id, r]));
  for (const entry of entries) {
    const result = byId.get(entry.client_id);
    if (!result) continue;
    if (result.outcome === "recorded" || result.outcome === "duplicate") {
      queue.delete(entry.seq);
      if (entry.op.kind === "sale") {
        const request = receipts.get(entry.client_id);
        request.onsuccess = () => {
          const receipt = request.result;
          if (!receipt) return;
          receipt.synced = true;
          if (result.public_url) receipt.public_url = result.public_url;
          receipts.put(receipt);
        };
      }
    } else {
      queue.put({ ...entry, error: result.error || { code: "rejected", message: "服务器拒绝" } });
    }
  }
  return done(tx);
}

export async function receiptsOfShift(shiftClientId) {
  const db = await open();
  const index = db.transaction("receipts").objectStore("receipts").index("shift");
  return promised(index.getAll(shiftClientId));
}

export async function receipt(clientId) {
  const db = await open();
  return promised(db.transaction("receipts").objectStore("receipts").get(clientId));
}
