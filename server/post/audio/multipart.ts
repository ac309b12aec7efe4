/**
 * The one file of a multipart/form-data upload, streamed (RFC 7578): `MultipartFile` is a
 * Transform whose input is the request body and whose output is the bytes of the first part named
 * `field`; every other part is skipped (at most 64 KiB of them). Nothing is buffered beyond one
 * chunk plus the delimiter's length, so an upload of any size passes through in constant memory.
 *
 *   --BOUNDARY\r\n
 *   Content-Disposition: form-data; name="file"; filename="song.mp3"\r\n
 *   Content-Type: audio/mpeg\r\n
 *   \r\n
 *   <bytes>\r\n--BOUNDARY--\r\n
 */
import { Transform, type TransformCallback } from 'node:stream';
import { ScenecastError } from '../../../shared/errors.js';

const MAX_HEADERS = 16 * 1024;
const MAX_PREAMBLE = 8 * 1024;
const MAX_OTHER_PARTS = 64 * 1024;

/** The boundary of a `multipart/form-data; boundary=…` Content-Type, or null. */
export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return null;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

const malformed = (why: string) => new ScenecastError('INVALID_BODY', `The multipart body is malformed: ${why}`);

type State = 'preamble' | 'delimiter' | 'headers' | 'body' | 'end';

export class MultipartFile extends Transform {
  /** The part's filename, once its headers were read. */
  filename: string | null = null;
  /** The part's own Content-Type, once its headers were read. */
  contentType: string | null = null;
  #found = false;
  #done = false;
  #state: State = 'preamble';
  #inFile = false;
  #skipped = 0;
  #buf: Buffer = Buffer.alloc(0);
  readonly #first: Buffer;
  readonly #delimiter: Buffer;

  constructor(
    boundary: string,
    private readonly field = 'file',
  ) {
    super();
    this.#first = Buffer.from(`--${boundary}`, 'latin1');
    this.#delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#buf = this.#buf.length ? Buffer.concat([this.#buf, chunk]) : chunk;
    try {
      this.#parse();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#done) return callback(this.#found ? malformed('the file part is cut off') : new ScenecastError('INVALID_BODY', `The multipart body has no "${this.field}" field`));
    callback();
  }

  #parse(): void {
    for (;;) {
      const buf = this.#buf;
      switch (this.#state) {
        case 'preamble': {
          const at = buf.indexOf(this.#first);
          if (at < 0) {
            if (buf.length > MAX_PREAMBLE) throw malformed('no boundary where the body starts');
            return;
          }
          this.#buf = buf.subarray(at + this.#first.length);
          this.#state = 'delimiter';
          break;
        }
        case 'delimiter': {
          // After a boundary: "--" ends the body; else optional whitespace, then CRLF and a part's headers.
          if (buf.length < 2) return;
          if (buf[0] === 0x2d && buf[1] === 0x2d) {
            this.#state = 'end';
            break;
          }
          const eol = buf.indexOf('\r\n');
          if (eol < 0) {
            if (buf.length > 256) throw malformed('a boundary line goes on');
            return;
          }
          if (buf.subarray(0, eol).toString('latin1').trim() !== '') throw malformed('text after a boundary');
          this.#buf = buf.subarray(eol + 2);
          this.#state = 'headers';
          break;
        }
        case 'headers': {
          const end = buf.subarray(0, 2).toString('latin1') === '\r\n' ? 0 : buf.indexOf('\r\n\r\n');
          if (end < 0) {
            if (buf.length > MAX_HEADERS) throw malformed('a part has too many headers');
            return;
          }
          this.#startPart(buf.subarray(0, end).toString('utf8'));
          this.#buf = buf.subarray(end === 0 ? 2 : end + 4);
          this.#state = 'body';
          break;
        }
        case 'body': {
          const at = buf.indexOf(this.#delimiter);
          // Without a delimiter, all but its length less one byte is surely the part's.
          const safe = at >= 0 ? at : Math.max(0, buf.length - this.#delimiter.length + 1);
          if (safe > 0) this.#emit(buf.subarray(0, safe));
          if (at < 0) {
            this.#buf = buf.subarray(safe);
            return;
          }
          if (this.#inFile) this.#done = true;
          this.#inFile = false;
          this.#buf = buf.subarray(at + this.#delimiter.length);
          this.#state = 'delimiter';
          break;
        }
        case 'end':
          this.#buf = Buffer.alloc(0);
          return;
      }
    }
  }

  #startPart(headers: string): void {
    const disposition = /^content-disposition:\s*(.*)$/im.exec(headers)?.[1] ?? '';
    const name = /(?:^|;)\s*name="([^"]*)"/i.exec(disposition)?.[1];
    this.#inFile = !this.#found && name === this.field;
    if (!this.#inFile) return;
    this.#found = true;
    this.filename = /(?:^|;)\s*filename="([^"]*)"/i.exec(disposition)?.[1] ?? null;
    this.contentType = /^content-type:\s*(.*)$/im.exec(headers)?.[1]?.trim() ?? null;
  }

  #emit(bytes: Buffer): void {
    if (this.#inFile) {
      this.push(Buffer.from(bytes)); // a copy: the buffer it came from is cut up and reused
      return;
    }
    this.#skipped += bytes.length;
    if (this.#skipped > MAX_OTHER_PARTS) throw malformed(`parts other than "${this.field}" exceed ${MAX_OTHER_PARTS / 1024} KiB`);
  }
}
