// Do two runtimes compute the same thing? Outputs are compared element by element.
//
// - float outputs: max abs diff, agreeing within 1e-2 * max(1, max |a|). That is the rule
//   tests/bench/bench_native.py uses against the reference: int8 models may be one
//   quantization step (1/256 here) apart between kernels, f32 models agree to ~1e-6.
// - int8/uint8 outputs: at most one step apart.
// - int32 outputs (top-k ids): equal, except where the two runtimes order items whose
//   scores tie differently: a different id at position k is accepted only when it is
//   another of the ids whose score (the float output of the same length) ties with the
//   score at k.

export function compareOutputs(a, b, dtypes) {
  let maxFloat = 0;
  let maxInt = 0;
  let idMismatches = 0;
  let ok = true;
  const notes = [];
  for (let i = 0; i < dtypes.length; i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y) return { ok: false, note: `output ${i} missing` };
    if (x.length !== y.length) return { ok: false, note: `output ${i}: ${x.length} vs ${y.length} values` };
    const d = dtypes[i];
    if (d === 'f32' || d === 'f64') {
      let m = 0;
      let scale = 1;
      for (let k = 0; k < x.length; k++) {
        const e = Math.abs(x[k] - y[k]);
        if (!(e <= m)) m = Number.isNaN(e) ? Infinity : e;
        if (Math.abs(x[k]) > scale) scale = Math.abs(x[k]); // NaN never raises it
      }
      maxFloat = Math.max(maxFloat, m);
      if (!(m <= 1e-2 * scale)) { ok = false; notes.push(`output ${i}: max abs diff ${m.toExponential(2)}`); }
    } else if (d === 'i8' || d === 'u8') {
      let m = 0;
      for (let k = 0; k < x.length; k++) m = Math.max(m, Math.abs(Number(x[k]) - Number(y[k])));
      maxInt = Math.max(maxInt, m);
      if (m > 1) { ok = false; notes.push(`output ${i}: ${m} quantization steps apart`); }
    } else {
      // ids: look for a float output of the same length (the top-k scores)
      const scores = dtypes.findIndex((e, j) => e === 'f32' && a[j].length === x.length);
      const sa = scores >= 0 ? a[scores] : null;
      const near = (u, v) => Math.abs(u - v) <= 1e-5 * Math.max(1, Math.abs(u));
      for (let k = 0; k < x.length; k++) {
        if (x[k] === y[k]) continue;
        idMismatches++;
        // accepted only if y's id at k is one of x's ids whose score ties with x's score at k
        let tied = false;
        if (sa) {
          for (let j = 0; j < x.length && !tied; j++) tied = j !== k && x[j] === y[k] && near(sa[j], sa[k]);
        }
        if (!tied) { ok = false; notes.push(`output ${i}: id ${x[k]} vs ${y[k]} at ${k}`); break; }
      }
    }
  }
  return { ok, maxFloat, maxInt, idMismatches, note: notes.join('; ') };
}
