/** The package's model module (model.js), written by the export next to the bundled code. */
import type { EdgeMeta } from './types.js';

export declare const meta: EdgeMeta;
/** The model's bytes: base64, or the text itself (see meta.encoding). */
export declare const data: string;
