/** onnxruntime-node sessions opened the way Ferry's ONNX runtime opens them (src/runtimes/onnx). */
import * as ort from 'onnxruntime-node';

/** Same options as Ferry: full graph optimisation, sequential execution, ORT's default thread counts. */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionMode: 'sequential' };

export function openSession(modelPath: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, SESSION_OPTIONS);
}

export { ort };
