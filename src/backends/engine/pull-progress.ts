// Turns the engine's pull stream (one event per layer step) into one overall percentage.

import type { PullEvent } from '../docker/port.ts';

interface Layer {
  downloaded: number;
  extracted: number;
  /** Compressed size, once a Downloading event told us. */
  size?: number;
  done: boolean;
}

/**
 * Tracks a pull: each layer counts download as 80 % and extraction as 20 % of its share, layers
 * weigh by compressed size (an unknown size counts as the average known one), and the percentage
 * never goes backwards (a new large layer showing up must not make the bar jump back).
 *
 * Layers the host already has ("Already exists") are no part of the work and are left out: the
 * engine reports them first, one event per layer, before it announces the layers to fetch, so
 * counting them as done made the first such event read 100 % — and the bar stay there for the
 * whole pull of any image built on a base the host has (nearly every update).
 */
export class PullProgress {
  private readonly layers = new Map<string, Layer>();
  private last = 0;

  /** Feeds one event; returns the overall percentage (0-100, integer). */
  update(ev: PullEvent): number {
    const id = ev.id;
    const status = ev.status ?? '';
    // Events without a layer id ("Pulling from x", "Digest: ...", "Status: ...") carry no progress.
    if (status === 'Already exists') {
      if (id) this.layers.delete(id);
    } else if (id && !status.startsWith('Pulling from')) {
      const layer = this.layers.get(id) ?? { downloaded: 0, extracted: 0, done: false };
      this.layers.set(id, layer);
      const { current, total } = ev.progressDetail ?? {};
      const frac = current != null && total ? Math.min(1, current / total) : undefined;
      if (status === 'Downloading') {
        if (total) layer.size = total;
        if (frac != null) layer.downloaded = frac;
      } else if (status === 'Download complete' || status === 'Verifying Checksum') {
        layer.downloaded = 1;
      } else if (status === 'Extracting') {
        layer.downloaded = 1;
        if (frac != null) layer.extracted = frac;
      } else if (status === 'Pull complete') {
        layer.done = true;
      }
    }
    this.last = Math.max(this.last, this.percent());
    return this.last;
  }

  private percent(): number {
    const layers = [...this.layers.values()];
    if (layers.length === 0) return 0;
    const known = layers.filter((l) => l.size).map((l) => l.size!);
    const avg = known.length ? known.reduce((a, b) => a + b, 0) / known.length : 1;
    let sum = 0;
    let weight = 0;
    for (const l of layers) {
      const w = l.size ?? avg;
      const frac = l.done ? 1 : 0.8 * l.downloaded + 0.2 * l.extracted;
      sum += w * frac;
      weight += w;
    }
    return Math.floor((100 * sum) / weight);
  }
}
