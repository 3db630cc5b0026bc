// What a scanner typed, decoded and priced at the till without the server: the same rules as
// app/pos/scanning.py (classify, check digits, scale labels) and app/catalog/pricing.py
// (the tier's unit price for the quantity, total = unit price × quantity rounded half-up ONCE to
// the fen). tests/pos/test_till_pricing_js.py runs this module in chromium against the Python
// functions, so the two stay equal.
//
// Quantities are integers in thousandths of the unit of sale ("milli"): 1.235 kg is 1235. The
// server's quantities have at most three decimals, so integer arithmetic is exact where floats
// would not be.

export class ScanError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const MESSAGES = {
  barcode_unreadable: "无法识别的条码：应为 8、12 或 13 位数字（EAN-8 / UPC-A / EAN-13）",
  barcode_check_digit_wrong: "条码校验位不对，可能扫错或标签破损，请重扫或手工输入",
  scale_price_check_digit_wrong: "秤标签中的价格校验位不对，请重新称重打印",
  scale_label_unreadable: "秤标签无法读取（品号或重量 / 金额为零）",
  barcode_unknown: "没有商品使用这个条码，或该商品已下架",
  plu_unknown: "没有商品使用这个 PLU 编号，或该商品已下架",
  scale_item_not_weighed: "该商品不是按千克或斤称重销售的，不能用秤标签或称重键",
  weight_unit_mismatch: "重量单位与该商品的计价单位不同：请按价签上的单位（斤或千克）输入",
  weight_invalid: "重量格式不正确",
};

function fail(code) {
  throw new ScanError(code, MESSAGES[code]);
}

export const GRAMS_PER_UNIT = { kg: 1000, jin: 500 };
const FULL_WIDTH = /[０-９]/g;

/** GS1 mod-10 check of an EAN-8 / UPC-A / EAN-13 (the last digit is the check digit). */
export function gs1Valid(code) {
  let sum = 0;
  for (let i = code.length - 2, weight = 3; i >= 0; i--, weight = 4 - weight) {
    sum += Number(code[i]) * weight;
  }
  return (10 - (sum % 10)) % 10 === Number(code[code.length - 1]);
}

// GS1 price check digit weights (General Specifications 7.9.3), as app/pos/scanning.py.
const W2M = [0, 2, 4, 6, 8, 9, 1, 3, 5, 7];
const W3 = [0, 3, 6, 9, 2, 5, 8, 1, 4, 7];
const W5P = [0, 5, 1, 6, 2, 7, 3, 8, 4, 9];
const W5M = [0, 5, 9, 4, 8, 3, 7, 2, 6, 1];

export function priceCheckDigit(value) {
  const d = [...value].map(Number);
  if (d.length === 4) {
    return String(((W2M[d[0]] + W2M[d[1]] + W3[d[2]] + W5M[d[3]]) * 3) % 10);
  }
  if (d.length === 5) {
    const weights = [W5P, W2M, W5M, W5P, W2M];
    const total = d.reduce((sum, digit, i) => sum + weights[i][digit], 0);
    return String(W5M.indexOf((10 - (total % 10)) % 10));
  }
  throw new Error("price check digits are defined for 4 or 5 digits");
}

/** Classify and decode a scan: {kind: product|weight_label|price_label, code, plu, grams, price_minor}. */
export function decode(raw, layouts) {
  const code = String(raw).trim().replace(FULL_WIDTH, (c) => String(c.charCodeAt(0) - 0xff10));
  if (!/^[0-9]+$/.test(code) || ![8, 12, 13].includes(code.length)) fail("barcode_unreadable");
  if (!gs1Valid(code)) fail("barcode_check_digit_wrong");
  const gtin = code.padStart(13, "0");
  if (code.length === 13) {
    for (const layout of layouts || []) {
      if (layout.prefixes.includes(code.slice(0, 2))) return label(gtin, layout);
    }
  }
  return { kind: "product", code: gtin, plu: null, grams: null, price_minor: null };
}

function label(code, layout) {
  const start = 2 + layout.item_digits;
  const item = code.slice(2, start);
  let value;
  if (layout.price_check) {
    value = code.slice(start + 1, start + 1 + layout.value_digits);
    if (code[start] !== priceCheckDigit(value)) fail("scale_price_check_digit_wrong");
  } else {
    value = code.slice(start, start + layout.value_digits);
  }
  const plu = Number(item);
  const amount = Number(value);
  if (plu === 0 || amount === 0) fail("scale_label_unreadable");
  if (layout.value === "weight") return { kind: "weight_label", code, plu, grams: amount, price_minor: null };
  return { kind: "price_label", code, plu, grams: null, price_minor: amount };
}

/** A typed decimal ("1.5", "２") → thousandths, or null: plain digits, at most 3 decimals, > 0. */
export function parseQuantity(text) {
  const plain = String(text).trim().replace(FULL_WIDTH, (c) => String(c.charCodeAt(0) - 0xff10));
  const match = /^(\d{1,7})(?:\.(\d{0,3}))?$/.exec(plain) || /^()\.(\d{1,3})$/.exec(plain);
  if (!match) return null;
  const milli = Number(match[1] || "0") * 1000 + Number((match[2] || "").padEnd(3, "0"));
  return milli > 0 ? milli : null;
}

/** Thousandths → the server's decimal string ("2", "1.23", "0.005"). */
export function formatQuantity(milli) {
  const whole = Math.floor(milli / 1000);
  const frac = String(milli % 1000).padStart(3, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : String(whole);
}

/** Yuan typed at the till ("12.5") → fen, or null. */
export function parseYuan(text) {
  const plain = String(text).trim();
  const match = /^(\d{1,7})(?:\.(\d{0,2}))?$/.exec(plain);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "").padEnd(2, "0"));
}

export function formatYuan(minor) {
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

/** The base price, or the price of the highest tier the quantity reaches (pricing.unit_price_for). */
export function unitPriceFor(item, milli) {
  let price = item.unit_price_minor;
  const tiers = [...(item.tiers || [])].sort((a, b) => parseQuantity(a.min_quantity) - parseQuantity(b.min_quantity));
  for (const tier of tiers) {
    if (milli >= parseQuantity(tier.min_quantity)) price = tier.unit_price_minor;
  }
  return price;
}

/** unit price × quantity, half-up once to the fen (money.line_total_minor); exact in integers. */
export function lineTotal(unitPriceMinor, milli) {
  return Math.floor((unitPriceMinor * milli + 500) / 1000);
}

export function quantityFromGrams(grams, unit) {
  const perUnit = GRAMS_PER_UNIT[unit];
  if (!perUnit) fail("scale_item_not_weighed");
  return (grams * 1000) / perUnit; // exact: 1000 / 500 and 1000 / 1000 are whole
}

/** What a price label's amount buys at the unit price, half-up to 3 decimals, at least 0.001. */
export function quantityFromPrice(priceMinor, unitPriceMinor) {
  return Math.max(1, Math.floor((2 * priceMinor * 1000 + unitPriceMinor) / (2 * unitPriceMinor)));
}

/** Lookup maps over the catalog snapshot's items. */
export function indexCatalog(catalog) {
  const byBarcode = new Map();
  const byPlu = new Map();
  for (const item of catalog.items) {
    if (item.barcode) byBarcode.set(item.barcode, item);
    if (item.plu != null) byPlu.set(item.plu, item);
  }
  return { catalog, byBarcode, byPlu, layouts: catalog.scale_layout || [] };
}

/** A basket line for ``item`` at ``milli`` thousandths, priced by the one rule. */
export function priceLine(item, milli, source, extra = {}) {
  const unitPrice = unitPriceFor(item, milli);
  return {
    variant_id: item.variant_id,
    sku: item.sku,
    name: item.name_zh && item.name_zh !== item.product_name_zh ? `${item.product_name_zh} ${item.name_zh}` : item.product_name_zh,
    unit: item.unit,
    unit_label_zh: item.unit_label_zh,
    weighed: item.weighed,
    source,
    code: null,
    grams: null,
    label_price_minor: null,
    plu: item.plu,
    quantity: milli,
    unit_price_minor: unitPrice,
    line_total_minor: lineTotal(unitPrice, milli),
    ...extra,
  };
}

function weighedItem(index, plu) {
  const item = index.byPlu.get(plu);
  if (!item) fail("plu_unknown");
  if (!GRAMS_PER_UNIT[item.unit]) fail("scale_item_not_weighed");
  return item;
}

/** What the scanner typed → a priced line (till_lines.line_for_scan), or a ScanError. */
export function lineForScan(index, raw) {
  const scan = decode(raw, index.layouts);
  if (scan.kind === "product") {
    const item = index.byBarcode.get(scan.code);
    if (!item) fail("barcode_unknown");
    return priceLine(item, 1000, "product", { code: scan.code });
  }
  const item = weighedItem(index, scan.plu);
  if (scan.kind === "weight_label") {
    return priceLine(item, quantityFromGrams(scan.grams, item.unit), "weight_label", { code: scan.code, grams: scan.grams });
  }
  const milli = quantityFromPrice(scan.price_minor, unitPriceFor(item, 1000));
  const line = priceLine(item, milli, "price_label", { code: scan.code });
  return { ...line, line_total_minor: scan.price_minor, label_price_minor: scan.price_minor };
}

/** A PLU key with the weight typed in ``unit``, which must be the item's unit of sale (line_for_plu). */
export function lineForPlu(index, plu, weightText, unit) {
  const item = weighedItem(index, plu);
  if (unit !== item.unit) fail("weight_unit_mismatch");
  const milli = parseQuantity(weightText);
  if (milli === null) fail("weight_invalid");
  const grams = Math.floor((milli * GRAMS_PER_UNIT[item.unit]) / 1000);
  return priceLine(item, milli, "plu_key", { grams });
}
