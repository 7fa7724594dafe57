// A small UNet for semantic segmentation (torch profile): two down steps, two up steps with skip
// connections, and a 1×1 head with one channel per class. The training steps next to it use it.

import { torch, type Tensor } from 'js-pytorch';
import * as F from 'js-pytorch/functional';

const nn = torch.nn;

/** What a training step needs of an optimizer. */
export interface Optimizer {
  zero_grad(): void;
  step(): void;
}

/** Two 3×3 convolutions with padding 1: the spatial size is kept, the channels change. */
function doubleConv(inChannels: number, outChannels: number) {
  return new nn.Sequential(
    new nn.Conv2d(inChannels, outChannels, 3, 1, 1),
    new nn.BatchNorm2d(outChannels),
    new nn.ReLU(),
    new nn.Conv2d(outChannels, outChannels, 3, 1, 1),
    new nn.BatchNorm2d(outChannels),
    new nn.ReLU(),
  );
}

function classHead(inChannels: number, nClasses: number) {
  return new nn.Conv2d(inChannels, nClasses, 1);
}

export class UNet extends nn.Module {
  readonly inc = doubleConv(3, 32);
  readonly down1 = doubleConv(32, 64);
  readonly down2 = doubleConv(64, 128);
  readonly up1 = doubleConv(128 + 64, 64);
  readonly up2 = doubleConv(64 + 32, 32);
  readonly pool = new nn.MaxPool2d(2);
  readonly nClasses: number;
  /** The 1×1 head: one output channel per class. */
  readonly outc: ReturnType<typeof classHead>;

  constructor(nClasses: number) {
    super();
    this.nClasses = nClasses;
    this.outc = classHead(32, nClasses);
  }

  /**
   * H and W must be divisible by 4 (two 2×2 poolings).
   * @shape x [N, 3, H, W] float32
   * @shape returns [N, nClasses, H, W] float32
   */
  forward(x: Tensor): Tensor {
    const x1 = this.inc.forward(x);                    // @shape [N, 32, H, W]
    const x2 = this.down1.forward(this.pool.forward(x1)); // @shape [N, 64, H/2, W/2]
    const x3 = this.down2.forward(this.pool.forward(x2)); // @shape [N, 128, H/4, W/4]
    const u1 = F.interpolate(x3, { scaleFactor: 2 });  // @shape [N, 128, H/2, W/2]
    const y1 = this.up1.forward(torch.cat([u1, x2], 1));
    const u2 = F.interpolate(y1, { scaleFactor: 2 });  // @shape [N, 64, H, W]
    const y2 = this.up2.forward(torch.cat([u2, x1], 1));
    return this.outc.forward(y2);
  }
}
