/** The slice of seek-bzip (pure-JavaScript bzip2 decoder) Ferry calls. */
declare module 'seek-bzip' {
  interface OutputStream {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    /** Decode a whole bzip2 file (every stream when `multistream`) into `output`. */
    decode(input: Buffer, output: OutputStream, multistream?: boolean): unknown;
  };
  export default Bunzip;
}
