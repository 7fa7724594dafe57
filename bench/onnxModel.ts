// A one-node ONNX model (SoftmaxCrossEntropyLoss, opset 13) built with a tiny hand-written protobuf
// encoder, so the benchmark needs no protobuf dependency. Field numbers are from onnx/onnx.proto.

/** Protobuf wire types. */
const VARINT = 0;
const LENGTH_DELIMITED = 2;

/** Appends protobuf fields to a growing byte list. */
class Writer {
  private readonly bytes: number[] = [];

  private tag(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  /** Base-128 varint; negative int64 values are written as their 64-bit two's complement (10 bytes). */
  private varint(value: bigint): void {
    let v = BigInt.asUintN(64, value);
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      this.bytes.push(b);
    } while (v !== 0n);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, VARINT);
    this.varint(BigInt(value));
    return this;
  }

  string(field: number, value: string): this {
    return this.raw(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.raw(field, inner.finish());
  }

  private raw(field: number, data: Uint8Array): this {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(BigInt(data.length));
    for (const b of data) this.bytes.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** onnx.TensorProto.DataType values. */
export const ONNX_FLOAT = 1;
export const ONNX_INT32 = 6;
export const ONNX_INT64 = 7;

/** AttributeProto.AttributeType values. */
const ATTR_INT = 2;
const ATTR_STRING = 3;

export interface SceModelOptions {
  /** Number of spatial dims after [N, C]. */
  readonly spatialDims: number;
  readonly reduction?: 'mean' | 'sum' | 'none';
  readonly ignoreIndex?: number;
  /** Element type of the labels input (ORT's kernel takes int32 as well as int64). */
  readonly labelType?: typeof ONNX_INT32 | typeof ONNX_INT64;
}

/**
 * `loss = SoftmaxCrossEntropyLoss(scores [N, C, D0…], labels [N, D0…])` with symbolic dims, so one
 * session serves every shape of that rank.
 */
export function softmaxCrossEntropyModel(opts: SceModelOptions): Uint8Array {
  const spatial = Array.from({ length: opts.spatialDims }, (_, i) => `D${i}`);
  const reduction = opts.reduction ?? 'mean';
  const valueInfo = (w: Writer, name: string, elemType: number, dims: string[]) => {
    w.string(1, name); // ValueInfoProto.name
    w.message(2, type => // ValueInfoProto.type
      type.message(1, tensor => { // TypeProto.tensor_type
        tensor.int(1, elemType); // Tensor.elem_type
        tensor.message(2, shape => { // Tensor.shape
          for (const d of dims) shape.message(1, dim => dim.string(2, d)); // Dimension.dim_param
        });
      }));
  };
  return new Writer()
    .int(1, 7) // ModelProto.ir_version
    .string(2, 'tensor-lens-bench') // producer_name
    .message(7, graph => { // ModelProto.graph
      graph.message(1, node => { // GraphProto.node
        node.string(1, 'scores').string(1, 'labels'); // NodeProto.input
        node.string(2, 'loss'); // NodeProto.output
        node.string(3, 'sce'); // NodeProto.name
        node.string(4, 'SoftmaxCrossEntropyLoss'); // NodeProto.op_type
        node.message(5, a => a.string(1, 'reduction').string(4, reduction).int(20, ATTR_STRING)); // attribute s
        if (opts.ignoreIndex !== undefined) {
          node.message(5, a => a.string(1, 'ignore_index').int(3, opts.ignoreIndex!).int(20, ATTR_INT)); // attribute i
        }
      });
      graph.string(2, 'ce'); // GraphProto.name
      graph.message(11, w => valueInfo(w, 'scores', ONNX_FLOAT, ['N', 'C', ...spatial])); // input
      graph.message(11, w => valueInfo(w, 'labels', opts.labelType ?? ONNX_INT32, ['N', ...spatial]));
      graph.message(12, w => valueInfo(w, 'loss', ONNX_FLOAT, reduction === 'none' ? ['N', ...spatial] : [])); // output
    })
    .message(8, opset => opset.string(1, '').int(2, 13)) // ModelProto.opset_import: default domain, 13
    .finish();
}
