// TensorBoard event files (events.out.tfevents.*), written directly: no maintained
// npm writer exists (tfjs-node's summary writer drags in libtensorflow), and the format
// is small. Framing is TFRecord (tensorflow/core/lib/io/record_writer.cc):
//   uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
// and each record is an `Event` protobuf (tensorflow/core/util/event.proto), encoded
// with protobufjs from the subset of the .proto files below.

import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { maskedCrc32c } from './crc32c.js';

// Field numbers copied from tensorflow/core/util/event.proto and
// tensorflow/core/framework/{summary,tensor,tensor_shape}.proto.
export const TFEVENTS_PROTO = `
syntax = "proto3";
package tensorboard;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
message Summary {
  message Image {
    int32 height = 1;
    int32 width = 2;
    int32 colorspace = 3;
    bytes encoded_image_string = 4;
  }
  message Value {
    string node_name = 7;
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      Image image = 4;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}
message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
}
message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
}
message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  repeated bytes string_val = 8;
}
`;

const root = protobuf.parse(TFEVENTS_PROTO).root;
const EventType = root.lookupType('tensorboard.Event');
const DT_STRING = 7;

/** TFRecord framing of one payload. */
export function tfrecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/**
 * Writes one event file. Every event is written with a single write(2) and the file
 * is fsync'd on flush/close, so TensorBoard sees complete records while training runs.
 */
export class SummaryWriter {
  readonly path: string;
  private fd: number | null;

  constructor(logDir: string, opts: { filenameSuffix?: string } = {}) {
    mkdirSync(logDir, { recursive: true });
    const now = Date.now();
    this.path = join(logDir, `events.out.tfevents.${Math.floor(now / 1000)}.${hostname()}.${process.pid}${opts.filenameSuffix ?? ''}`);
    this.fd = openSync(this.path, 'a');
    this.write({ wallTime: now / 1000, step: 0, fileVersion: 'brain.Event:2' });
  }

  private write(event: Record<string, unknown>): void {
    if (this.fd === null) throw new Error(`SummaryWriter: ${this.path} is closed`);
    const bytes = EventType.encode(EventType.fromObject(event)).finish();
    writeSync(this.fd, tfrecord(bytes));
  }

  private summary(step: number, value: Record<string, unknown>): void {
    this.write({ wallTime: Date.now() / 1000, step, summary: { value: [value] } });
  }

  addScalar(tag: string, value: number, step: number): void {
    this.summary(step, { tag, simpleValue: value });
  }

  /** Several scalars at once (e.g. train/val loss), each its own tag. */
  addScalars(values: Record<string, number>, step: number): void {
    this.write({ wallTime: Date.now() / 1000, step, summary: { value: Object.entries(values).map(([tag, v]) => ({ tag, simpleValue: v })) } });
  }

  /** Text (markdown) for TensorBoard's Text tab: a DT_STRING tensor tagged for the "text" plugin. */
  addText(tag: string, text: string, step: number): void {
    this.summary(step, {
      tag,
      metadata: { pluginData: { pluginName: 'text', content: new Uint8Array() } },
      tensor: { dtype: DT_STRING, tensorShape: { dim: [{ size: 1 }] }, stringVal: [new TextEncoder().encode(text)] },
    });
  }

  /** A PNG image (e.g. the confusion matrix) for the Images tab. */
  addImage(tag: string, png: Uint8Array, size: { width: number; height: number }, step: number): void {
    this.summary(step, { tag, image: { height: size.height, width: size.width, colorspace: 4, encodedImageString: png } });
  }

  flush(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}
