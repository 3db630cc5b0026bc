// The till (/pos): sign-in with user name + PIN, selling by scan / PLU key / search, payment in
// cash, QR or split, receipts, the shift, and the queue of operations uploaded to
// POST /api/v1/pos/sync (contract: app/pos/sync_schemas.py). Everything a sale needs — the catalog,
// prices, the scale-label layout, the clerk's session, the sale sequence — is in IndexedDB
// (store.js), so the till keeps selling with the server down; pricing.js prices exactly as the
// server does. No framework; every text goes in with textContent.

import * as db from "./store.js";
import {
  ScanError, formatQuantity, formatYuan, indexCatalog, lineForPlu, lineForScan, parseQuantity,
  parseYuan, priceLine, unitPriceFor,
} from "./pricing.js";
import { qrModules } from "./qrcode.js";

const API = "/api/v1/pos";
const MAX_OPS = 50;
const RETRY_MS = 4000;
const PING_MS = 20000;
const DENOMINATIONS = [
  [10000, "100元"], [5000, "50元"], [2000, "20元"], [1000, "10元"], [500, "5元"], [100, "1元"], [50, "5角"], [10, "1角"],
];
const WALLETS = { wechat: "微信", alipay: "支付宝" };
const SOURCES_WITH_EDIT = new Set(["product", "search", "plu_key"]);

const $ = (id) => document.getElementById(id);
const state = {
  session: null, // SessionOut + access_token, from IndexedDB
  index: null, // pricing.indexCatalog(catalog)
  shift: null, // {client_id, opened_at, float_minor, movements: [], closing: null | {client_id}}
  basket: null, // {client_id, lines, discount_minor, discount_reason, approval_token}
  tenders: [],
  method: "cash",
  paper: 80,
  reachable: navigator.onLine,
  syncing: false,
  lastReceipt: null,
};
window.__scanTimes = []; // scan-to-line times (ms) to the painted frame, read by bench/pos_till.py
window.__scanWork = []; // the same to the basket updated in the DOM

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
class Offline extends Error {}

// ---------------------------------------------------------------- server

async function api(method, path, body, { headers = {}, raw = false } = {}) {
  const token = state.session && state.session.access_token;
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  else if (method !== "GET") {
    // Signing in carries no bearer token: if this browser also has a web session (a clerk who
    // signed in at /login lands here), the API asks for the double-submit CSRF token with it.
    const csrf = document.querySelector("meta[name=csrf-token]");
    if (csrf && csrf.content) init.headers["X-CSRF-Token"] = csrf.content;
  }
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    setReachable(false);
    throw new Offline("网络不通");
  }
  setReachable(true);
  if (raw) return response;
  if (response.status === 204 || response.status === 304) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    // Errors are {"error": code, "message": 中文说明} (app/kit/errors.py).
    const err = data || {};
    // A 401 ends the clerk's session (expired, revoked, the till revoked) — except a refused PIN.
    if (response.status === 401 && !(method === "POST" && path === `${API}/session`)) await sessionEnded();
    throw new ApiError(response.status, err.error || String(response.status), err.message || "请求失败");
  }
  return data;
}

function setReachable(value) {
  state.reachable = value;
  const net = $("net");
  net.textContent = value ? "在线" : "离线";
  net.classList.toggle("offline", !value);
}

async function sessionEnded() {
  await db.remove("session");
  state.session = null;
  flash("登录已失效，请重新登录（未上传的销售会保留）");
  show("signin");
}

// ---------------------------------------------------------------- screens

function show(name) {
  for (const section of document.querySelectorAll(".screen")) section.hidden = section.id !== `screen-${name}`;
  const signedIn = Boolean(state.session);
  $("menu-button").hidden = !signedIn || !state.shift;
  $("sign-out").hidden = !signedIn;
  if (name === "sell") focusScan();
  if (name === "signin") $("signin-user").focus();
}

function visible(name) {
  return !$(`screen-${name}`).hidden;
}

function flash(text, kind = "error") {
  const box = $("flash");
  box.textContent = text;
  box.className = `flash ${kind}`;
  box.hidden = !text;
  clearTimeout(flash.timer);
  if (text) flash.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

function focusScan() {
  if (visible("sell") && !$("dialog").open) $("scan").focus();
}

function keypad(container) {
  const target = () => $(container.dataset.target) || container.parentElement.querySelector("input");
  const keys = container.classList.contains("decimal")
    ? ["7", "8", "9", "4", "5", "6", "1", "2", "3", ".", "0", "⌫"]
    : ["7", "8", "9", "4", "5", "6", "1", "2", "3", "C", "0", "⌫"];
  container.replaceChildren(...keys.map((key) => el("button", { type: "button", dataset: { key } }, key)));
  container.addEventListener("click", (event) => {
    const key = event.target.dataset && event.target.dataset.key;
    const input = target();
    if (!key || !input) return;
    if (key === "⌫") input.value = input.value.slice(0, -1);
    else if (key === "C") input.value = "";
    else input.value += key;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
}

// A modal form: fields → values, or null when cancelled. ``check`` may throw to keep it open.
function ask({ title, note = "", fields, okText = "确定", cancelText = "取消", check = null }) {
  const dialog = $("dialog");
  $("dialog-title").textContent = title;
  $("dialog-note").textContent = note;
  $("dialog-error").textContent = "";
  $("dialog-ok").textContent = okText;
  $("dialog-cancel").textContent = cancelText;
  const box = $("dialog-fields");
  box.replaceChildren();
  for (const field of fields) {
    const id = `dlg-${field.name}`;
    box.append(el("label", { for: id }, field.label));
    const input = el("input", { id, name: field.name, autocomplete: "off" });
    if (field.type) input.type = field.type;
    if (field.inputmode) input.inputMode = field.inputmode;
    input.value = field.value || "";
    box.append(input);
    if (field.keypad) {
      const pad = el("div", { class: `keypad ${field.keypad}`, dataset: { target: id } });
      keypad(pad);
      box.append(pad);
    }
  }
  return new Promise((resolve) => {
    const form = $("dialog-form");
    const finish = (value) => {
      form.onsubmit = null;
      $("dialog-cancel").onclick = null;
      dialog.onclose = null;
      if (dialog.open) dialog.close();
      resolve(value);
      focusScan(); // at once: the scanner may type the next code right away
    };
    form.onsubmit = async (event) => {
      event.preventDefault();
      const values = Object.fromEntries(fields.map((f) => [f.name, $(`dlg-${f.name}`).value.trim()]));
      try {
        finish(check ? await check(values) : values);
      } catch (error) {
        $("dialog-error").textContent = error.message;
      }
    };
    $("dialog-cancel").onclick = () => finish(null);
    // Escape closes the dialog: a cancel. (The close event of a previous ask() arrives late, when
    // this one is already open: it is not ours.)
    dialog.onclose = () => { if (!dialog.open) finish(null); };
    dialog.showModal();
    const first = box.querySelector("input");
    if (first) first.focus();
  });
}

// A store manager's say-so for one operation: {token} (null when the signed-in person is a manager
// of this store: the server takes their own session as the approval), or null if cancelled.
// A manager who is not at the till types user name + PIN → an approval token (online only).
async function managerApproval(action, opClientId, amountMinor, why) {
  if (state.session.is_manager) return { token: null };
  if (!state.reachable) throw new Error(`${why}需要店长授权，离线时不能办理`);
  const token = await ask({
    title: "店长授权",
    note: why,
    fields: [
      { name: "username", label: "店长工号" },
      { name: "pin", label: "店长 PIN", type: "password", inputmode: "numeric", keypad: "digits" },
    ],
    okText: "授权",
    check: async (values) => {
      const answer = await api("POST", `${API}/approvals`, {
        username: values.username, pin: values.pin, action, op_client_id: opClientId, amount_minor: amountMinor,
      });
      return answer.approval_token;
    },
  });
  return token ? { token } : null;
}

// ---------------------------------------------------------------- session, catalog, shift

async function signIn(event) {
  event.preventDefault();
  const username = $("signin-user").value.trim();
  const pin = $("signin-pin").value.trim();
  try {
    const answer = await api("POST", `${API}/session`, { username, pin });
    state.session = answer;
    await db.put("session", answer);
    $("signin-pin").value = "";
    await afterSignIn();
  } catch (error) {
    flash(error instanceof Offline ? "网络不通：登录需要联网" : error.message);
  }
}

async function refreshSession() {
  if (!state.session) return;
  try {
    const fresh = await api("GET", `${API}/session`);
    state.session = { ...state.session, ...fresh, access_token: state.session.access_token };
    await db.put("session", state.session);
    showWho();
  } catch (error) {
    // Offline or refused: the stored session stands (a 401 already sent the clerk to sign in).
  }
}

function showWho() {
  const s = state.session;
  $("till-where").textContent = s ? `${s.store_name} · ${s.till_name} · ${s.display_name}` : "";
}

async function loadCatalog() {
  const stored = await db.get("catalog");
  if (stored) state.index = indexCatalog(stored.catalog);
  try {
    const response = await api("GET", `${API}/catalog`, undefined, {
      raw: true, headers: stored ? { "If-None-Match": stored.etag } : {},
    });
    if (response.status === 200) {
      const catalog = await response.json();
      await db.put("catalog", { etag: response.headers.get("ETag"), catalog });
      state.index = indexCatalog(catalog);
    } else if (response.status === 401) {
      await sessionEnded();
    }
  } catch (error) {
    // Offline: the copy in IndexedDB is used.
  }
  renderKeys();
}

async function afterSignIn() {
  showWho();
  await refreshSession();
  if (!state.session) return;
  await loadCatalog();
  state.shift = (await db.get("shift")) || null;
  const open = state.session.open_shift;
  if (state.shift && !state.shift.closing && state.reachable && (await db.queueCount()) === 0
      && (!open || open.client_id !== state.shift.client_id)) {
    // Everything of this till has landed and the server knows another open shift, or none (closed
    // from another browser of this till): the server's word stands.
    await db.remove("shift");
    state.shift = null;
  }
  if (!state.shift && open && open.client_id) {
    // Opened on this till before (another browser profile, or storage cleared): carry on with it.
    state.shift = { client_id: open.client_id, opened_at: open.opened_at || null, float_minor: open.float_minor || 0, movements: [], closing: null };
    await db.put("shift", state.shift);
  }
  if (!state.index) {
    flash("还没有商品目录：请联网后刷新本页");
  }
  if (!state.shift) show("open");
  else if (state.shift.closing) showZ();
  else startSale();
  syncNow(); // what waited while nobody was signed in goes now, under this session
}

async function openShift(event) {
  event.preventDefault();
  const float = parseYuan($("open-float").value);
  if (float === null) return flash("备用金格式不对，例如 200 或 200.50");
  const shift = { client_id: crypto.randomUUID(), opened_at: new Date().toISOString(), float_minor: float, movements: [], closing: null };
  const op = { kind: "shift_open", client_id: shift.client_id, at: shift.opened_at, float_minor: float };
  await db.enqueue(op, { kv: { shift } });
  state.shift = shift;
  flash(`已开班，备用金 ${formatYuan(float)} 元`, "ok");
  startSale();
  syncNow();
}

// ---------------------------------------------------------------- selling

function newBasket() {
  state.basket = { client_id: crypto.randomUUID(), lines: [], discount_minor: 0, discount_reason: "", approval_token: null };
  state.tenders = [];
  renderBasket();
}

function startSale() {
  newBasket();
  show("sell");
}

function subtotal() {
  return state.basket.lines.reduce((sum, line) => sum + line.line_total_minor, 0);
}

function total() {
  return subtotal() - state.basket.discount_minor;
}

function addLine(line) {
  state.basket.lines.push({ ...line, key: crypto.randomUUID() });
  if (state.basket.discount_minor > subtotal()) state.basket.discount_minor = 0;
  renderBasket();
}

function scan(started) {
  const input = $("scan");
  const raw = input.value;
  input.value = "";
  if (!raw.trim()) return;
  if (!state.index) return flash("还没有商品目录：请联网后刷新本页");
  try {
    addLine(lineForScan(state.index, raw));
    $("scan-msg").textContent = "";
    $("scan-msg").className = "scan-msg";
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    $("scan-msg").textContent = `${raw.trim()}：${error.message}`;
    $("scan-msg").className = "scan-msg error";
  }
  // Enter → the basket updated (decode, price, DOM), and Enter → the next frame painted with it.
  window.__scanWork.push(performance.now() - started);
  requestAnimationFrame(() => requestAnimationFrame(() => window.__scanTimes.push(performance.now() - started)));
}

function quantityText(line) {
  const unit = line.unit_label_zh || line.unit;
  const qty = `${formatQuantity(line.quantity)} ${unit}`;
  return line.grams ? `${qty}（${line.grams} 克）` : qty;
}

function renderBasket() {
  const list = $("basket");
  list.replaceChildren(
    ...state.basket.lines.map((line) => {
      const price = line.label_price_minor ? "秤签金额" : `${formatYuan(line.unit_price_minor)}/${line.unit_label_zh}`;
      const actions = el("span", { class: "line-actions" });
      if (SOURCES_WITH_EDIT.has(line.source)) {
        actions.append(el("button", { type: "button", class: "small", dataset: { edit: line.key } }, "改数量"));
      }
      actions.append(el("button", { type: "button", class: "small danger", dataset: { void: line.key } }, "删除"));
      return el(
        "li",
        { class: "line", dataset: { sku: line.sku } },
        el("span", { class: "line-name" }, line.name),
        el("span", { class: "line-qty" }, `${quantityText(line)} × ${price}`),
        el("span", { class: "line-total" }, formatYuan(line.line_total_minor)),
        actions,
      );
    }),
  );
  $("basket-empty").hidden = state.basket.lines.length > 0;
  $("t-subtotal").textContent = formatYuan(subtotal());
  $("t-discount").textContent = state.basket.discount_minor
    ? `-${formatYuan(state.basket.discount_minor)}（${state.basket.discount_reason}）`
    : "0.00";
  $("t-total").textContent = formatYuan(total());
  $("pay-button").disabled = state.basket.lines.length === 0 || total() <= 0;
  list.lastElementChild && list.lastElementChild.scrollIntoView({ block: "nearest" });
}

async function basketClick(event) {
  const { edit, void: gone } = event.target.dataset || {};
  if (gone) {
    state.basket.lines = state.basket.lines.filter((line) => line.key !== gone);
    if (state.basket.discount_minor > subtotal()) state.basket.discount_minor = 0;
    renderBasket();
    focusScan();
  } else if (edit) {
    const line = state.basket.lines.find((l) => l.key === edit);
    const item = state.index.catalog.items.find((i) => i.variant_id === line.variant_id);
    const values = await ask({
      title: `修改数量：${line.name}`,
      note: `单位：${line.unit_label_zh}`,
      fields: [{ name: "quantity", label: `数量（${line.unit_label_zh}）`, inputmode: "decimal", value: formatQuantity(line.quantity), keypad: "decimal" }],
      check: (v) => {
        const milli = parseQuantity(v.quantity);
        if (milli === null) throw new Error("数量请写成普通数字，最多三位小数，且大于 0");
        return milli;
      },
    });
    if (values === null || !item) return;
    const grams = line.source === "plu_key" ? Math.floor((values * ({ kg: 1000, jin: 500 }[item.unit] || 0)) / 1000) || null : null;
    Object.assign(line, priceLine(item, values, line.source, { code: line.code, grams }), { key: line.key });
    renderBasket();
  }
}

async function weighedKey(item) {
  const values = await ask({
    title: item.product_name_zh,
    note: `按${item.unit_label_zh}计价：${formatYuan(unitPriceFor(item, 1000))} 元/${item.unit_label_zh}，请按${item.unit_label_zh}输入重量`,
    fields: [{ name: "weight", label: `重量（${item.unit_label_zh}）`, inputmode: "decimal", keypad: "decimal" }],
    check: (v) => (item.plu != null ? lineForPlu(state.index, item.plu, v.weight, item.unit) : searchWeighed(item, v.weight)),
  });
  if (values) addLine(values);
}

function searchWeighed(item, text) {
  const milli = parseQuantity(text);
  if (milli === null) throw new Error("重量格式不正确");
  return priceLine(item, milli, "search", { grams: Math.floor((milli * ({ kg: 1000, jin: 500 }[item.unit] || 0)) / 1000) || null });
}

function keyFor(item) {
  const price = `${formatYuan(item.unit_price_minor)} 元/${item.unit_label_zh}`;
  const how = item.weighed ? `按${item.unit_label_zh}输入` : "";
  return el(
    "button",
    { type: "button", class: "key", dataset: { variant: String(item.variant_id) } },
    el("strong", {}, item.product_name_zh),
    el("span", {}, item.name_zh && item.name_zh !== item.product_name_zh ? item.name_zh : ""),
    el("small", {}, [item.plu != null ? `PLU ${item.plu}` : "", price, how].filter(Boolean).join(" · ")),
  );
}

function renderKeys() {
  const items = state.index ? state.index.catalog.items : [];
  $("plu-keys").replaceChildren(...items.filter((i) => i.weighed && i.plu != null).map(keyFor));
}

function searchChanged() {
  const query = $("search").value.trim().toLowerCase();
  const items = state.index && query ? state.index.catalog.items : [];
  const found = items.filter((i) => `${i.product_name_zh} ${i.name_zh} ${i.sku}`.toLowerCase().includes(query)).slice(0, 12);
  $("search-results").replaceChildren(...found.map(keyFor));
}

function keyClick(event) {
  const button = event.target.closest("button.key");
  if (!button) return;
  const item = state.index.catalog.items.find((i) => String(i.variant_id) === button.dataset.variant);
  if (!item) return;
  if (item.weighed) weighedKey(item);
  else {
    addLine(priceLine(item, 1000, "search"));
    focusScan();
  }
  $("search").value = "";
  $("search-results").replaceChildren();
}

async function discount() {
  if (!state.basket.lines.length) return;
  const limit = Number(state.session.discount_limit_percent ?? 0);
  const values = await ask({
    title: "整单折扣",
    note: `店员可直接给的折扣上限：${limit}%；超过需店长 PIN（离线时不能超过）`,
    fields: [
      { name: "amount", label: "折扣金额（元）", inputmode: "decimal", keypad: "decimal", value: state.basket.discount_minor ? formatYuan(state.basket.discount_minor) : "" },
      { name: "reason", label: "原因", value: state.basket.discount_reason },
    ],
    check: (v) => {
      const amount = parseYuan(v.amount || "0");
      if (amount === null || amount >= subtotal()) throw new Error("折扣金额应小于小计");
      if (amount > 0 && !v.reason) throw new Error("请写折扣原因");
      return { amount, reason: v.reason };
    },
  });
  if (!values) return;
  let token = null;
  if (values.amount * 100 > limit * subtotal()) {
    let approved;
    try {
      approved = await managerApproval("discount", state.basket.client_id, values.amount, `折扣超过 ${limit}%`);
    } catch (error) {
      return flash(error.message);
    }
    if (!approved) return;
    token = approved.token;
  }
  Object.assign(state.basket, { discount_minor: values.amount, discount_reason: values.reason, approval_token: token });
  renderBasket();
}

// ---------------------------------------------------------------- payment

function paid() {
  return state.tenders.reduce((sum, t) => sum + t.amount_minor, 0);
}

function renderPay() {
  const due = Math.max(0, total() - paid());
  $("p-total").textContent = formatYuan(total());
  $("p-paid").textContent = formatYuan(paid());
  $("p-due").textContent = formatYuan(due);
  $("p-tenders").replaceChildren(...state.tenders.map((t) => el("li", {}, `${tenderName(t)} ${formatYuan(t.amount_minor)}`)));
  $("cash-amount").value = formatYuan(due);
  $("qr-amount").value = formatYuan(due);
  $("qr-ref").value = "";
  const quick = new Set([due]);
  for (const step of [1000, 2000, 5000, 10000]) quick.add(Math.ceil(due / step) * step);
  $("quick-cash").replaceChildren(
    ...[...quick].filter((v) => v > 0).sort((a, b) => a - b).slice(0, 5)
      .map((v) => el("button", { type: "button", dataset: { amount: String(v) } }, `${formatYuan(v)}`)),
  );
  for (const tab of document.querySelectorAll("[data-method]")) tab.setAttribute("aria-selected", String(tab.dataset.method === state.method));
  $("cash-form").hidden = state.method !== "cash";
  $("qr-form").hidden = state.method === "cash";
  $("qr-wallet").textContent = WALLETS[state.method] || "";
}

function tenderName(tender) {
  return tender.method === "cash" ? "现金" : WALLETS[tender.wallet];
}

function startPay() {
  state.tenders = [];
  state.method = "cash";
  renderPay();
  show("pay");
  $("cash-amount").select();
}

async function addTender(tender) {
  if (state.tenders.length >= 6) return flash("一单最多 6 笔付款");
  state.tenders.push(tender);
  if (paid() >= total()) await finishSale();
  else renderPay();
}

async function cashTendered(event) {
  event.preventDefault();
  const amount = parseYuan($("cash-amount").value);
  if (!amount) return flash("请输入实收现金");
  await addTender({ method: "cash", wallet: null, amount_minor: amount, reference_tail: "" });
}

async function qrReceived(event) {
  event.preventDefault();
  const amount = parseYuan($("qr-amount").value);
  const due = total() - paid();
  if (!amount || amount > due) return flash("到账金额应大于 0 且不超过还差的金额");
  const tail = $("qr-ref").value.trim();
  if (!/^[0-9A-Za-z]{0,12}$/.test(tail)) return flash("流水号末几位只能是字母或数字");
  await addTender({ method: "qr", wallet: state.method, amount_minor: amount, reference_tail: tail });
}

async function finishSale() {
  const s = state.session;
  const basket = state.basket;
  const change = paid() - total();
  const cash = state.tenders.filter((t) => t.method === "cash").reduce((sum, t) => sum + t.amount_minor, 0);
  if (change > cash) {
    state.tenders.pop();
    renderPay();
    return flash("找零只能来自现金：扫码金额不能超过应收");
  }
  const seq = Math.max(((await db.get("sale_seq")) || 0) + 1, Number(s.next_sale_seq || 1));
  const number = `${s.sale_prefix}-${String(seq).padStart(6, "0")}`;
  const at = new Date().toISOString();
  const op = {
    kind: "sale",
    client_id: basket.client_id,
    shift_client_id: state.shift.client_id,
    number,
    at,
    made_offline: !state.reachable,
    lines: basket.lines.map((line) => ({
      variant_id: line.variant_id,
      sku: line.sku,
      source: line.source,
      code: line.code,
      grams: line.grams,
      quantity: formatQuantity(line.quantity),
      unit_price_minor: line.unit_price_minor,
      line_total_minor: line.line_total_minor,
    })),
    discount_minor: basket.discount_minor,
    discount_reason: basket.discount_reason,
    approval_token: basket.approval_token,
    tenders: state.tenders,
    change_minor: change,
  };
  const receipt = {
    client_id: basket.client_id,
    shift_client_id: state.shift.client_id,
    number,
    at,
    store_name: s.store_name,
    till: `${s.till_name}（${s.till_code}）`,
    clerk: s.display_name,
    lines: basket.lines.map((line) => ({ name: line.name, qty: quantityText(line), unit_price_minor: line.unit_price_minor, unit_label_zh: line.unit_label_zh, line_total_minor: line.line_total_minor, label: Boolean(line.label_price_minor) })),
    subtotal_minor: subtotal(),
    discount_minor: basket.discount_minor,
    discount_reason: basket.discount_reason,
    total_minor: total(),
    tenders: state.tenders.map((t) => ({ ...t })),
    change_minor: change,
    // Known before the upload: the server's public page of the sale is /r/{client id}.
    public_url: `${location.origin}/r/${basket.client_id}`,
    synced: false,
  };
  await db.enqueue(op, { kv: { sale_seq: seq }, receipt });
  state.lastReceipt = receipt;
  newBasket(); // the sale is done: whatever screen comes next, the basket is the next customer's
  $("change").textContent = formatYuan(change);
  renderReceipt(receipt, $("receipt-view"));
  show("done");
  $("next-sale").focus();
  updatePending();
  syncNow();
}

// ---------------------------------------------------------------- receipts

function qrSvg(text) {
  const modules = qrModules(text);
  const quiet = 4;
  const size = modules.length + 2 * quiet;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
  svg.setAttribute("class", "receipt-qr");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "本单公开页二维码");
  const back = document.createElementNS(ns, "rect");
  back.setAttribute("width", String(size));
  back.setAttribute("height", String(size));
  back.setAttribute("fill", "#fff");
  let d = "";
  modules.forEach((row, y) => {
    for (let x = 0; x < row.length; x++) {
      if (!row[x]) continue;
      const start = x;
      while (x < row.length && row[x]) x++;
      d += `M${start + quiet} ${y + quiet}h${x - start}v1h-${x - start}z`;
    }
  });
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "#000");
  svg.append(back, path);
  return svg;
}

function when(iso) {
  return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
}

function renderReceipt(r, container) {
  const rows = (pairs) => el("dl", { class: "r-sums" }, ...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const sums = [["小计", formatYuan(r.subtotal_minor)]];
  if (r.discount_minor) sums.push([`折扣（${r.discount_reason}）`, `-${formatYuan(r.discount_minor)}`]);
  sums.push(["应收", formatYuan(r.total_minor)]);
  for (const t of r.tenders) sums.push([t.method === "cash" ? "现金实收" : `${WALLETS[t.wallet]}${t.reference_tail ? ` 尾号${t.reference_tail}` : ""}`, formatYuan(t.amount_minor)]);
  sums.push(["找零", formatYuan(r.change_minor)]);
  container.replaceChildren(
    el("h2", { class: "r-store" }, r.store_name),
    el("p", { class: "r-meta" }, `${r.till} · 收银员 ${r.clerk}`),
    el("p", { class: "r-meta" }, `单号 ${r.number}`),
    el("p", { class: "r-meta" }, when(r.at)),
    el(
      "ol",
      { class: "r-lines" },
      ...r.lines.map((line) => el(
        "li",
        {},
        el("span", { class: "r-name" }, line.name),
        el("span", { class: "r-qty" }, line.label ? `${line.qty}（秤签）` : `${line.qty} × ${formatYuan(line.unit_price_minor)}`),
        el("span", { class: "r-total" }, formatYuan(line.line_total_minor)),
      )),
    ),
    rows(sums),
    qrSvg(r.public_url),
    el("p", { class: "r-foot" }, "扫码查看本单及产品溯源"),
    r.synced ? null : el("p", { class: "r-foot" }, "（本单待上传）"),
  );
}

function printReceipt(receipt) {
  const target = $("receipt");
  renderReceipt(receipt, target);
  target.classList.toggle("paper58", state.paper === 58);
  target.classList.toggle("paper80", state.paper !== 58);
  window.print();
}

async function renderShiftReceipts() {
  const receipts = (await db.receiptsOfShift(state.shift.client_id)).sort((a, b) => a.at.localeCompare(b.at));
  $("shift-receipts").replaceChildren(
    ...receipts.reverse().map((r) => el(
      "li",
      {},
      el("span", {}, `${r.number} · ${when(r.at)} · ${formatYuan(r.total_minor)} 元${r.synced ? "" : " · 待上传"}`),
      el(
        "span",
        { class: "line-actions" },
        el("button", { type: "button", class: "small", dataset: { reprint: r.client_id } }, "补打"),
        r.synced ? el("button", { type: "button", class: "small", dataset: { pdf: r.number } }, "PDF") : null,
      ),
    )),
  );
}

// ---------------------------------------------------------------- shift: cash, reports, close

async function expectedCash() {
  const receipts = await db.receiptsOfShift(state.shift.client_id);
  let cash = state.shift.float_minor;
  for (const r of receipts) {
    cash += r.tenders.filter((t) => t.method === "cash").reduce((s, t) => s + t.amount_minor, 0) - r.change_minor;
  }
  for (const m of state.shift.movements) cash += m.direction === "in" ? m.amount_minor : -m.amount_minor;
  return cash - (state.shift.refunds_minor || 0);
}

async function openMenu() {
  $("shift-facts").textContent = `班次开于 ${state.shift.opened_at ? when(state.shift.opened_at) : "—"}，备用金 ${formatYuan(state.shift.float_minor)} 元，应有现金 ${formatYuan(await expectedCash())} 元`;
  for (const radio of document.querySelectorAll("input[name=paper]")) radio.checked = Number(radio.value) === state.paper;
  await renderShiftReceipts();
  show("menu");
}

async function cashMovement(direction) {
  const clientId = crypto.randomUUID();
  const values = await ask({
    title: direction === "in" ? "现金存入" : "现金取出",
    note: direction === "out" ? "取出现金需店长 PIN（需联网）" : "",
    fields: [
      { name: "amount", label: "金额（元）", inputmode: "decimal", keypad: "decimal" },
      { name: "reason", label: "原因" },
    ],
    check: (v) => {
      const amount = parseYuan(v.amount);
      if (!amount) throw new Error("请输入金额");
      if (!v.reason) throw new Error("请写原因");
      return { amount, reason: v.reason };
    },
  });
  if (!values) return;
  let token = null;
  if (direction === "out") {
    let approved;
    try {
      approved = await managerApproval("cash_out", clientId, values.amount, "取出现金");
    } catch (error) {
      return flash(error.message);
    }
    if (!approved) return;
    token = approved.token;
  }
  const op = { kind: "cash_movement", client_id: clientId, shift_client_id: state.shift.client_id, at: new Date().toISOString(), direction, amount_minor: values.amount, reason: values.reason, approval_token: token };
  state.shift.movements.push({ direction, amount_minor: values.amount });
  await db.enqueue(op, { kv: { shift: state.shift } });
  flash(`已记录${direction === "in" ? "存入" : "取出"} ${formatYuan(values.amount)} 元`, "ok");
  syncNow();
  openMenu();
}

// Returns (online only: POST /api/v1/pos/returns): the receipt's sale from the server, a quantity
// per line (at most what is left of it), a reason, a manager's say; the refund leaves this drawer.
let returning = null; // the sale being returned against (GET /api/v1/pos/sales/{number})

function startReturn() {
  returning = null;
  $("return-sale").hidden = true;
  $("return-done").hidden = true;
  $("return-number").value = "";
  $("return-reason").value = "";
  show("return");
  $("return-number").focus();
}

async function findSale(event) {
  event.preventDefault();
  const number = $("return-number").value.trim().toUpperCase();
  if (!number) return;
  try {
    returning = await api("GET", `${API}/sales/${encodeURIComponent(number)}`);
  } catch (error) {
    return flash(error instanceof Offline ? "退货需要联网" : error.message);
  }
  $("return-facts").textContent = `${returning.number} · ${when(returning.sold_at)} · 实收 ${formatYuan(returning.total_minor)} 元`;
  $("return-lines").replaceChildren(
    ...returning.lines.map((line) => {
      const left = parseQuantity(line.quantity) - (parseQuantity(line.returned_quantity) || 0);
      const id = `ret-${line.order_line_id}`;
      return el(
        "li",
        { class: "line" },
        el("label", { class: "line-name", for: id }, line.name_zh),
        el("span", { class: "line-qty" }, `已售 ${line.quantity} ${line.unit_label_zh}，已退 ${line.returned_quantity}，金额 ${formatYuan(line.line_total_minor)}`),
        el("input", { id, inputmode: "decimal", value: "0", class: "return-qty", dataset: { line: String(line.order_line_id), left: String(left) } }),
      );
    }),
  );
  $("return-sale").hidden = false;
  $("return-done").hidden = true;
}

async function confirmReturn() {
  const lines = [];
  let bound = 0; // at least the refund: the lines' amounts before the basket discount is spread
  for (const line of returning.lines) {
    const input = $(`ret-${line.order_line_id}`);
    const text = input.value.trim();
    if (!text || Number(text) === 0) continue;
    const milli = parseQuantity(text);
    if (milli === null || milli > Number(input.dataset.left)) return flash(`${line.name_zh}：退货数量应大于 0 且不超过未退的数量`);
    lines.push({ order_line_id: line.order_line_id, quantity: formatQuantity(milli) });
    bound += Math.ceil((line.line_total_minor * milli) / parseQuantity(line.quantity));
  }
  if (!lines.length) return flash("请填写退货数量");
  const reason = $("return-reason").value.trim();
  if (!reason) return flash("请写退货原因");
  const clientId = crypto.randomUUID();
  let approved;
  try {
    approved = await managerApproval("return", clientId, bound, `退货退款（至多 ${formatYuan(bound)} 元）`);
  } catch (error) {
    return flash(error.message);
  }
  if (!approved) return;
  try {
    const done = await api("POST", `${API}/returns`, {
      client_id: clientId, sale_number: returning.number, lines, reason, approval_token: approved.token,
    });
    state.shift.refunds_minor = (state.shift.refunds_minor || 0) + done.refund_minor;
    await db.put("shift", state.shift);
    flash("");
    $("return-refund").textContent = formatYuan(done.refund_minor);
    $("return-out").textContent = `退货单 ${done.number}（原单 ${done.sale_number}）${done.approved_by ? `，店长 ${done.approved_by} 授权` : ""}`;
    $("return-sale").hidden = true;
    $("return-done").hidden = false;
  } catch (error) {
    flash(error instanceof Offline ? "退货需要联网" : error.message);
  }
}

// A shift report (X or Z: app/pos/shift_report.ShiftFigures as JSON) as a page: the figures as
// facts, the lists as tables; a field this page does not know is still shown under its own name.
const REPORT_FACTS = {
  shift_number: "班次号", status: "状态", store_name: "门店", till_name: "收银机", opened_by: "开班人",
  opened_at: "开班时间", closed_by: "交班人", closed_at: "交班时间", closed_offline: "离线交班",
  float_minor: "备用金", sales_count: "销售笔数", gross_minor: "销售额", discounts_minor: "折扣",
  net_minor: "净销售额", cash_minor: "现金净收", qr_wechat_minor: "微信收款", qr_alipay_minor: "支付宝收款",
  refunds_count: "退货笔数", refunds_minor: "退款", cash_in_minor: "现金存入", cash_out_minor: "现金取出",
  expected_cash_minor: "应有现金", counted_cash_minor: "清点现金", variance_minor: "差额",
  variance_status: "差额状态", variance_approved_by: "差额确认人",
};
const REPORT_LISTS = {
  by_sku: ["按商品", { sku: "SKU", name_zh: "商品", quantity: "数量", unit: "单位", amount_minor: "金额" }],
  qr_tenders: ["扫码收款（与微信 / 支付宝商户账单核对）", { sold_at: "时间", sale_number: "单号", wallet: "钱包", reference_tail: "流水尾号", amount_minor: "金额" }],
  cash_movements: ["现金存取", { moved_at: "时间", direction: "方向", reason: "原因", amount_minor: "金额" }],
  counted: ["现金清点", { denomination_minor: "面额", count: "张/枚", amount_minor: "金额" }],
};
const REPORT_WORDS = {
  open: "班中", closed: "已交班", none: "无", approved: "已确认", pending: "待店长确认", in: "存入", out: "取出",
  wechat: "微信", alipay: "支付宝", true: "是", false: "否", kg: "千克", jin: "斤", box: "箱", piece: "个",
};
const REPORT_SKIPPED = new Set(["shift_client_id", "store_code", "till_code"]);

function reportValue(key, v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number" && /_minor$/.test(key)) return formatYuan(v);
  if (typeof v === "string" && /_at$/.test(key)) return when(v);
  if (typeof v === "object") return JSON.stringify(v);
  return REPORT_WORDS[String(v)] || String(v);
}

function reportView(data) {
  const facts = el("dl", { class: "facts" });
  const parts = [facts];
  for (const [key, v] of Object.entries(data || {})) {
    if (REPORT_SKIPPED.has(key)) continue;
    if (Array.isArray(v)) {
      const [title, known] = REPORT_LISTS[key] || [key, {}];
      const cols = Object.keys(known).length ? Object.keys(known) : Object.keys(v[0] || {});
      parts.push(el("h2", {}, title));
      if (!v.length) {
        parts.push(el("p", { class: "hint" }, "无"));
        continue;
      }
      parts.push(el(
        "table",
        { class: "report-table", dataset: { part: key } },
        el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, known[c] || c)))),
        el("tbody", {}, ...v.map((row) => el("tr", {}, ...cols.map((c) => el("td", {}, reportValue(c, row[c])))))),
      ));
    } else {
      facts.append(el("dt", {}, REPORT_FACTS[key] || key), el("dd", { dataset: { field: key } }, reportValue(key, v)));
    }
  }
  return parts;
}

async function xReport() {
  try {
    const data = await api("GET", `${API}/shifts/current/report`);
    $("report-title").textContent = "X 报表（班中）";
    $("report-body").replaceChildren(...reportView(data));
    $("report-links").replaceChildren();
    show("report");
  } catch (error) {
    flash(error instanceof Offline ? "X 报表需要联网" : error.message);
  }
}

function renderDenoms() {
  $("denoms").replaceChildren(
    ...DENOMINATIONS.map(([fen, label]) => el(
      "div",
      { class: "denom" },
      el("label", { for: `d-${fen}` }, label),
      el("button", { type: "button", class: "small", dataset: { step: "-1", denom: String(fen) } }, "−"),
      el("input", { id: `d-${fen}`, inputmode: "numeric", value: "0", dataset: { denom: String(fen) } }),
      el("button", { type: "button", class: "small", dataset: { step: "1", denom: String(fen) } }, "+"),
    )),
  );
}

function counted() {
  const counts = {};
  let sum = 0;
  for (const [fen] of DENOMINATIONS) {
    const n = Number.parseInt($(`d-${fen}`).value || "0", 10);
    if (Number.isFinite(n) && n > 0) {
      counts[String(fen)] = n;
      sum += n * fen;
    }
  }
  return { counts, sum };
}

async function updateCount() {
  const expected = await expectedCash();
  const { sum } = counted();
  $("c-expected").textContent = formatYuan(expected);
  $("c-counted").textContent = formatYuan(sum);
  $("c-variance").textContent = formatYuan(sum - expected);
}

async function startClose() {
  renderDenoms();
  await updateCount();
  show("close");
}

async function confirmClose() {
  const { counts, sum } = counted();
  const variance = sum - (await expectedCash());
  const clientId = crypto.randomUUID();
  let token = null;
  if (variance !== 0 && state.reachable) {
    try {
      const approved = await managerApproval("variance", clientId, Math.abs(variance), `现金差额 ${formatYuan(variance)} 元；取消则先交班，差额由店长在后台确认`);
      token = approved ? approved.token : null;
    } catch (error) {
      token = null;
    }
  }
  const op = { kind: "shift_close", client_id: clientId, shift_client_id: state.shift.client_id, at: new Date().toISOString(), made_offline: !state.reachable, counted: counts, approval_token: token };
  state.shift.closing = { client_id: clientId, counted_minor: sum, variance_minor: variance };
  await db.enqueue(op, { kv: { shift: state.shift } });
  syncNow();
  showZ();
}

async function showZ() {
  const shift = state.shift;
  $("report-title").textContent = "Z 报表（交班）";
  $("report-links").replaceChildren();
  show("report");
  const waiting = (await db.queued()).some((entry) => entry.client_id === shift.closing.client_id);
  if (waiting) {
    $("report-body").replaceChildren(el("p", { class: "hint" }, `交班已记录在本机（清点 ${formatYuan(shift.closing.counted_minor || 0)} 元，差额 ${formatYuan(shift.closing.variance_minor || 0)} 元），联网上传后显示 Z 报表。`));
    return;
  }
  try {
    const data = await api("GET", `${API}/shifts/${shift.client_id}/report`);
    $("report-body").replaceChildren(...reportView(data));
    $("report-links").replaceChildren(el("button", { type: "button", id: "z-pdf", class: "secondary" }, "下载 Z 报表 PDF"));
    shift.z_shown = true;
  } catch (error) {
    $("report-body").replaceChildren(el("p", { class: "hint" }, error instanceof Offline ? "网络不通：联网后显示 Z 报表。" : error.message));
  }
}

// A PDF of the API (receipt, Z report) needs the bearer token: fetched here, opened as a blob.
async function openPdf(path) {
  try {
    const response = await api("GET", path, undefined, { raw: true });
    if (!response.ok) return flash("PDF 暂不可用");
    window.open(URL.createObjectURL(await response.blob()), "_blank");
  } catch (error) {
    flash("PDF 需要联网");
  }
}

async function reportBack() {
  if (state.shift && state.shift.closing) {
    if (!state.shift.z_shown) {
      await showZ();
      if (!state.shift.z_shown) return;
    }
    await db.remove("shift");
    state.shift = null;
    show("open");
  } else {
    openMenu();
  }
}

// ---------------------------------------------------------------- the queue

async function updatePending() {
  const n = await db.queueCount();
  const rejected = (await db.queued()).filter((e) => e.error);
  const button = $("pending");
  button.textContent = `待上传 ${n}`;
  button.classList.toggle("waiting", n > 0);
  button.title = rejected.length ? `被拒绝 ${rejected.length} 笔：${rejected[0].error.message}` : "立即上传";
  button.classList.toggle("rejected", rejected.length > 0);
}

async function syncNow() {
  if (state.syncing || !state.session) return;
  state.syncing = true;
  // An operation the server rejected in this pass is not sent again until the next one.
  const rejected = new Set();
  try {
    for (;;) {
      const entries = (await db.queued()).filter((entry) => !rejected.has(entry.client_id)).slice(0, MAX_OPS);
      if (!entries.length) break;
      const answer = await api("POST", `${API}/sync`, { ops: entries.map((entry) => entry.op) });
      await db.settle(entries, answer.results);
      for (const result of answer.results) if (result.outcome === "rejected") rejected.add(result.client_id);
      if (!answer.results.some((r) => r.outcome !== "rejected")) break; // no progress: wait for the next pass
    }
  } catch (error) {
    // Offline, or the server refused the batch: the queue stays and is retried.
    if (error instanceof ApiError && error.status !== 401) flash(`上传失败：${error.message}`);
  } finally {
    state.syncing = false;
    await updatePending();
    if (state.shift && state.shift.closing && !state.shift.z_shown && visible("report")) showZ();
    if (visible("menu")) renderShiftReceipts();
  }
}

async function tick() {
  if ((await db.queueCount()) > 0) await syncNow();
}

async function ping() {
  if (!state.session) return;
  await refreshSession();
  if (state.reachable) await loadCatalog();
}

// ---------------------------------------------------------------- wiring

function wire() {
  for (const pad of document.querySelectorAll(".keypad[data-target]")) keypad(pad);
  $("signin-form").addEventListener("submit", signIn);
  $("open-form").addEventListener("submit", openShift);
  const scanBox = $("scan");
  scanBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      scan(performance.now());
    }
  });
  $("scan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    scan(performance.now());
  });
  scanBox.addEventListener("blur", () => setTimeout(() => {
    const active = document.activeElement;
    if (!active || active === document.body || active.tagName === "BUTTON") focusScan();
  }, 0));
  $("basket").addEventListener("click", basketClick);
  $("plu-keys").addEventListener("click", keyClick);
  $("search-results").addEventListener("click", keyClick);
  $("search").addEventListener("input", searchChanged);
  $("search-form").addEventListener("submit", (event) => event.preventDefault());
  $("discount-button").addEventListener("click", discount);
  $("clear-button").addEventListener("click", startSale);
  $("pay-button").addEventListener("click", startPay);
  $("pay-cancel").addEventListener("click", () => { state.tenders = []; show("sell"); });
  for (const tab of document.querySelectorAll("[data-method]")) {
    tab.addEventListener("click", () => { state.method = tab.dataset.method; renderPay(); });
  }
  $("quick-cash").addEventListener("click", (event) => {
    if (event.target.dataset.amount) $("cash-amount").value = formatYuan(Number(event.target.dataset.amount));
  });
  $("cash-form").addEventListener("submit", cashTendered);
  $("qr-form").addEventListener("submit", qrReceived);
  $("print-button").addEventListener("click", () => printReceipt(state.lastReceipt));
  $("next-sale").addEventListener("click", startSale);
  $("menu-button").addEventListener("click", () => (state.shift.closing ? showZ() : openMenu()));
  $("menu-back").addEventListener("click", () => show("sell"));
  $("cash-in").addEventListener("click", () => cashMovement("in"));
  $("cash-out").addEventListener("click", () => cashMovement("out"));
  $("x-report").addEventListener("click", xReport);
  $("close-shift").addEventListener("click", startClose);
  $("return-button").addEventListener("click", startReturn);
  $("return-find").addEventListener("submit", findSale);
  $("return-confirm").addEventListener("click", confirmReturn);
  $("return-back").addEventListener("click", () => show("sell"));
  $("close-cancel").addEventListener("click", openMenu);
  $("close-confirm").addEventListener("click", confirmClose);
  $("denoms").addEventListener("input", updateCount);
  $("denoms").addEventListener("click", (event) => {
    const { step, denom } = event.target.dataset || {};
    if (!step) return;
    const input = $(`d-${denom}`);
    input.value = String(Math.max(0, (Number.parseInt(input.value, 10) || 0) + Number(step)));
    updateCount();
  });
  $("report-back").addEventListener("click", reportBack);
  $("report-links").addEventListener("click", (event) => {
    if (event.target.id === "z-pdf") openPdf(`${API}/shifts/${state.shift.client_id}/z.pdf`);
  });
  $("shift-receipts").addEventListener("click", async (event) => {
    const { reprint, pdf } = event.target.dataset;
    if (reprint) printReceipt(await db.receipt(reprint));
    if (pdf) openPdf(`${API}/sales/${encodeURIComponent(pdf)}/receipt.pdf`);
  });
  document.querySelector("fieldset.paper").addEventListener("change", async (event) => {
    state.paper = Number(event.target.value);
    await db.put("paper", state.paper);
  });
  $("pending").addEventListener("click", syncNow);
  $("sign-out").addEventListener("click", async () => {
    try {
      if (state.session) await api("DELETE", `${API}/session`);
    } catch (error) {
      // Offline: the token is forgotten here; it ends with its expiry.
    }
    await db.remove("session");
    state.session = null;
    showWho();
    show("signin");
  });
  document.addEventListener("keydown", (event) => {
    if ($("dialog").open || !/^[0-9]$/.test(event.key)) return;
    // The next customer's first item scanned while the change is still shown: a new sale begins.
    if (visible("done")) {
      startSale();
      $("scan").value = "";
    } else if (visible("sell") && document.activeElement.tagName !== "INPUT") {
      $("scan").focus(); // a scanner's digits belong in the scan box, wherever focus was left
    }
  });
  window.addEventListener("online", () => { setReachable(true); syncNow(); });
  window.addEventListener("offline", () => setReachable(false));
  setInterval(tick, RETRY_MS);
  setInterval(ping, PING_MS);
}

async function boot() {
  wire();
  setReachable(navigator.onLine);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/pos/sw.js", { scope: "/pos" }).catch(() => flash("离线缓存未能启用（需要 HTTPS 或本机地址）"));
  }
  state.paper = (await db.get("paper")) || 80;
  state.session = (await db.get("session")) || null;
  await updatePending();
  if (!state.session) {
    show("signin");
    return;
  }
  await afterSignIn();
}

boot();
