// The espeak-ng npm package (Emscripten build of the espeak-ng CLI) ships no types: what tts-worker.ts uses of it.
declare module 'espeak-ng' {
  interface ESpeakNgModule {
    FS: {
      writeFile(path: string, data: string | Uint8Array): void;
      readFile(path: string): Uint8Array;
    };
  }
  interface ESpeakNgOptions {
    /** argv of the espeak-ng CLI; main() runs once the module is ready. */
    arguments: string[];
    preRun?: ((module: ESpeakNgModule) => void)[];
    print?: (line: string) => void;
    printErr?: (line: string) => void;
    /** Replaces the default exit (which sets process.exitCode). */
    quit?: (status: number, toThrow: unknown) => void;
    instantiateWasm?: (imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => object;
  }
  export default function ESpeakNg(options: ESpeakNgOptions): Promise<ESpeakNgModule>;
}
