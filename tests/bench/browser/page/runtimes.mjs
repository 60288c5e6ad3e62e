// The three runtimes behind one small interface, used by the bench and cold-start pages.
//
//   const mod = await RUNTIMES[name].import();   // download + evaluate the runtime's JS
//   const rt = await RUNTIMES[name].init(mod);    // download + compile + instantiate its wasm
//   const model = await RUNTIMES[name].load(rt, bytes);
//   model.inputs / model.outputs                  // [{name, dtype}] in the runtime's order
//   const run = model.runner(inputs);             // inputs: [{data, shape}] in that order
//   const outs = await run();                     // typed arrays, in model.outputs order
//   model.free();
//
// One call of `run` is one timed run: it sets the inputs, runs, reads the outputs into JS
// typed arrays and frees whatever the runtime allocated for that run. Everything is
// single-threaded: Attune has no threads; LiteRT.js gets `threads: false` (its default)
// and `numThreads: 1`; tfjs-tflite gets `numThreads: 1`, and the page hides
// SharedArrayBuffer before importing it, or it would pick its threaded build.

const DTYPE_NAMES = {
  // names each runtime uses -> the conformance manifests' names
  float32: 'f32', int32: 'i32', int8: 'i8', uint8: 'u8', int64: 'i64', bool: 'bool',
  f32: 'f32', i32: 'i32', i8: 'i8', u8: 'u8', i64: 'i64',
};
const dt = (d) => DTYPE_NAMES[String(d).toLowerCase()] ?? String(d);

// Attune from a folder with wasm-bindgen's attune.js + attune_bg.wasm (`base` ends in /)
const attune = (base, label) => ({
  label,
  import: () => import(`${base}attune.js`),
  async init(mod) {
    await mod.default({ module_or_path: `${base}attune_bg.wasm` });
    return mod;
  },
  version: (mod) => mod.version(),
  load(mod, bytes) {
    const m = mod.WasmModel.load(new Uint8Array(bytes));
    const info = (j) => JSON.parse(j).map((t) => ({ name: t.name, dtype: dt(t.dtype) }));
    return {
      inputs: info(m.inputsJson()),
      outputs: info(m.outputsJson()),
      runner(ins) {
        const arrays = ins.map((x) => x.data);
        const shapes = ins.map((x) => x.shape);
        // the engine copies the typed arrays in and returns fresh typed arrays
        return () => m.run(arrays, shapes);
      },
      free: () => m.free(),
    };
  },
});

export const RUNTIMES = {
  attune: attune('/rt/attune/', 'Attune'),
  // a second Attune build to compare with (run.mjs --attune-alt DIR)
  attune_alt: attune('/rt/attune-alt/', 'Attune (alt. build)'),

  litert: {
    label: 'LiteRT.js',
    import: () => import('/rt/litert/litert.mjs'),
    async init(mod) {
      // a directory: it picks the relaxed-SIMD build when the browser has it
      await mod.loadLiteRt('/rt/litert/wasm/', { threads: false });
      return mod;
    },
    version: () => null,
    async load(mod, bytes) {
      const cm = await mod.loadAndCompile(new Uint8Array(bytes), {
        accelerator: 'wasm',
        cpuOptions: { numThreads: 1 },
      });
      const info = (ds) => ds.map((t) => ({ name: t.name, dtype: dt(t.dtype), shape: [...t.shape] }));
      return {
        inputs: info(cm.getInputDetails()),
        outputs: info(cm.getOutputDetails()),
        runner(ins) {
          return async () => {
            const ts = ins.map((x) => new mod.Tensor(x.data, x.shape));
            try {
              const outs = await cm.run(ts);
              const arrays = outs.map((t) => t.toTypedArray());
              for (const t of outs) t.delete();
              return arrays;
            } finally {
              for (const t of ts) t.delete();
            }
          };
        },
        free: () => cm.delete(),
      };
    },
  },

  tfjs: {
    label: 'tfjs-tflite',
    async import() {
      // single-threaded: tfjs-tflite switches to its threaded wasm when it sees
      // SharedArrayBuffer, which cross-origin isolation exposes
      if (typeof SharedArrayBuffer !== 'undefined') {
        globalThis.__hiddenSharedArrayBuffer = SharedArrayBuffer;
        delete globalThis.SharedArrayBuffer;
      }
      return import('/rt/tfjs/tfjs-tflite.mjs');
    },
    async init(mod) {
      await mod.setBackend('cpu');
      await mod.ready();
      mod.setWasmPath('/rt/tfjs/wasm/');
      return mod;
    },
    version: () => null,
    async load(mod, bytes) {
      const model = await mod.loadTFLiteModel(bytes, { numThreads: 1 });
      const info = (ts) => ts.map((t) => ({ name: t.name, dtype: dt(t.dtype), shape: t.shape }));
      const outputs = info(model.outputs);
      const tfDtype = { f32: 'float32', i32: 'int32', bool: 'bool' };
      return {
        inputs: info(model.inputs),
        outputs,
        runner(ins) {
          const bad = ins.findIndex((x) => !tfDtype[x.dtype]);
          if (bad >= 0) throw new Error(`tfjs has no ${ins[bad].dtype} dtype (input ${bad})`);
          const dtypes = ins.map((x) => tfDtype[x.dtype]);
          return () => {
            const ts = ins.map((x, i) => mod.tensor(x.data, x.shape, dtypes[i]));
            try {
              const out = model.predict(ts.length === 1 ? ts[0] : ts);
              // one output: a Tensor; several: a map keyed by output name
              const list = typeof out.dataSync === 'function' ? [out]
                : Array.isArray(out) ? out : outputs.map((o) => out[o.name]);
              const arrays = list.map((t) => t.dataSync());
              for (const t of list) t.dispose();
              return arrays;
            } finally {
              for (const t of ts) t.dispose();
            }
          };
        },
        free: () => {},
      };
    },
  },
};

// Manifest names are TFLite tensor names ("serving_default_user_id:0"); runtimes may
// report those or signature keys ("user_id").
export const baseName = (n) => String(n).replace(/^serving_default_/, '').replace(/:\d+$/, '');

/** Orders the case's inputs as the runtime wants them: by name, else in file order. */
export function orderInputs(caseInputs, arrays, rtInputs) {
  if (rtInputs.length !== caseInputs.length) {
    throw new Error(`the runtime reports ${rtInputs.length} inputs, the case has ${caseInputs.length}`);
  }
  const byName = rtInputs.map((r) => caseInputs.findIndex((c) => c.name === r.name || baseName(c.name) === baseName(r.name)));
  const idx = new Set(byName).size === caseInputs.length && !byName.includes(-1) ? byName : caseInputs.map((_, i) => i);
  return idx.map((j) => ({ data: arrays[j], shape: caseInputs[j].shape, dtype: caseInputs[j].dtype, name: caseInputs[j].name }));
}

/**
 * For each case output, the index of the runtime output that holds it: the one with the
 * same dtype and element count (unique in every benchmark model), then by name, then in
 * order among equals.
 */
export function matchOutputs(caseOutputs, rtOutputs, arrays) {
  const used = new Set();
  return caseOutputs.map((c) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const cands = rtOutputs.map((r, i) => i).filter((i) => !used.has(i) && arrays[i]?.length === n && rtOutputs[i].dtype === c.dtype);
    const named = cands.find((i) => baseName(rtOutputs[i].name) === baseName(c.name));
    const pick = named ?? cands[0];
    if (pick === undefined) return -1;
    used.add(pick);
    return pick;
  });
}

// Raw little-endian bytes as base64, for the trip to the driver.
function base64(a) {
  const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode(...u8.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * A run's outputs as the driver writes them for the `attune` CLI to judge: one
 * `{ dtype, shape, base64 }` per case output, in the case's order. The runtimes return
 * flat typed arrays: each dtype is the runtime's own, each shape is taken to be the
 * case's (the judge still checks the element count against it).
 */
export function outputRecords(caseOutputs, rtOutputs, arrays) {
  const idx = matchOutputs(caseOutputs, rtOutputs, arrays);
  if (idx.includes(-1)) {
    throw new Error(`outputs ${JSON.stringify(rtOutputs.map((o, i) => [o.name, o.dtype, arrays[i]?.length]))} do not match the case's`);
  }
  return idx.map((i, k) => ({ dtype: rtOutputs[i].dtype, shape: caseOutputs[k].shape, base64: base64(arrays[i]) }));
}
