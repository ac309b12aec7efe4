/**
 * The one door to onnxruntime-node: one InferenceSession per graph of the bundle, loaded together,
 * run by name, released by dispose(). A failed run says which inputs (names, dtypes, shapes) it got.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Bundle } from '../bundle/manifest.js';

export type EngineDevice = 'cpu' | 'cuda';

export interface SessionOptions {
  /** 'cpu' (default) or 'cuda' (needs the CUDA build of onnxruntime-node: ONNXRUNTIME_NODE_INSTALL=cuda12). */
  device?: EngineDevice;
  /** Intra-op threads per session (default 1). Sized by the pool: cores / workers. */
  threads?: number;
}

export interface TensorData {
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}

export class ModelSessions {
  readonly #sessions: Map<string, ort.InferenceSession>;
  #disposed = false;

  private constructor(sessions: Map<string, ort.InferenceSession>) {
    this.#sessions = sessions;
  }

  static async load(bundle: Bundle, graphs: string[], options: SessionOptions = {}): Promise<ModelSessions> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: options.device === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // Spinning threads would steal the CPU the JavaScript side needs (measured: ~40% slower).
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    const unique = [...new Set(graphs)];
    const loaded = await Promise.all(
      unique.map(async (name) => {
        const spec = bundle.manifest.graphs[name];
        if (!spec) throw new Error(`bundle ${bundle.manifest.name} has no graph "${name}"`);
        return [name, await ort.InferenceSession.create(path.join(bundle.dir, spec.file), sessionOptions)] as const;
      }),
    );
    return new ModelSessions(new Map(loaded));
  }

  /** Runs a graph; `outputs` limits what is computed and returned (default: every output). */
  async run(graph: string, feeds: Record<string, TensorData>, outputs?: string[]): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
    if (this.#disposed) throw new Error('sessions were disposed');
    const session = this.#sessions.get(graph);
    if (!session) throw new Error(`graph "${graph}" is not loaded`);
    const inputs: Record<string, ort.Tensor> = {};
    for (const [name, tensor] of Object.entries(feeds)) {
      inputs[name] = new ort.Tensor(tensor.data instanceof BigInt64Array ? 'int64' : 'float32', tensor.data, tensor.dims);
    }
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = outputs ? await session.run(inputs, outputs) : await session.run(inputs);
    } catch (error) {
      const given = Object.entries(feeds)
        .map(([name, t]) => `${name}: ${t.data instanceof BigInt64Array ? 'int64' : 'float32'}[${t.dims.join(',')}]`)
        .join(', ');
      throw new Error(`graph "${graph}" failed (${(error as Error).message}); inputs given: ${given}; expected: ${session.inputNames.join(', ')}`);
    }
    const result: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
    for (const [name, value] of Object.entries(results)) {
      const tensor = value as ort.Tensor;
      result[name] = { data: tensor.data as Float32Array, dims: tensor.dims };
    }
    return result;
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    await Promise.allSettled([...this.#sessions.values()].map((s) => s.release()));
    this.#sessions.clear();
  }
}
