// `npm run bench:edge`: evaluated before the package (first.js imports it first), so the page can tell
// when the WebAssembly module finished compiling and was instantiated. It only timestamps the call.
const instantiateStreaming = WebAssembly.instantiateStreaming;
WebAssembly.instantiateStreaming = async (...args) => {
  const result = await instantiateStreaming.apply(WebAssembly, args);
  window.__instantiated = performance.now();
  return result;
};
