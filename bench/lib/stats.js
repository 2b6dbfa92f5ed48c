'use strict';
// Small statistics helpers (no dependencies).

/** Linear-interpolated quantile of an ascending-sorted array-like; NaN when empty. */
function quantile(sorted, q) {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  return quantile(v, 0.5);
}

function min(values) {
  const v = values.filter(Number.isFinite);
  return v.length ? Math.min(...v) : NaN;
}

function max(values) {
  const v = values.filter(Number.isFinite);
  return v.length ? Math.max(...v) : NaN;
}

module.exports = { quantile, median, min, max };
