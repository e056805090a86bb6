import type { ModelRuntime, RuntimeFactory, SniffResult } from '../model-runtime.js';

/**
 * PMML 3.x–4.4 documents, evaluated natively in TypeScript: the document is compiled once into
 * closures (document.ts, model.ts, models/); each row is scored by the compiled model. Inputs:
 * one tensor `[N]` per active MiningField, named by the field; outputs: one tensor per target
 * and final OutputField. Missing values are NaN (numbers) or null (strings) both ways.
 */
export const pmmlRuntime: RuntimeFactory = {
  format: 'pmml',
  title: 'PMML',

  sniff(bytes: Uint8Array): SniffResult {
    const head = new TextDecoder().decode(bytes.subarray(0, 4096)).replace(/^\uFEFF/, '');
    if (!/^\s*</.test(head)) return 'no';
    // The root element (after the XML declaration, comments and doctype) is PMML.
    const body = head.replace(/<\?[\s\S]*?\?>/g, '').replace(/<!--[\s\S]*?-->/g, '').replace(/<![^>]*>/g, '');
    return /^\s*<([A-Za-z_][\w.-]*:)?PMML[\s>/]/.test(body) ? 'yes' : 'no';
  },

  async load(bytes: Uint8Array, _options, label: string): Promise<ModelRuntime> {
    const { loadPmmlModel } = await import('./pmml-model.js');
    return loadPmmlModel(bytes, label);
  },
};

