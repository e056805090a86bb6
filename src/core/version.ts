/** Ferry's version (kept equal to package.json's by test/cli-doc.test.ts). */
export const FERRY_VERSION = '0.1.0';
