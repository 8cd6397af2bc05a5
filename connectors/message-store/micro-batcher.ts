/**
 * Collects items handed in one at a time into batches for one bulk write: a batch is flushed
 * when it reaches `maxItems` or `lingerMs` after its first item, and each caller's promise
 * settles with its batch's write. One write is in flight at a time; what arrives meanwhile
 * forms the next batch (so batches grow with load, and writes to one document never race,
 * which matters on FerretDB whose updates are not atomic read-modify-writes across writers).
 * Exists because the runtime's `process` step sees one record at a time.
 */
export interface MicroBatcherConfig {
  maxItems: number;
  lingerMs: number;
}

interface Pending<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class MicroBatcher<T> {
  private pending: Pending<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing = false;

  constructor(private readonly write: (items: T[]) => Promise<void>, private readonly config: MicroBatcherConfig) {}

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.writing) return;
      if (this.pending.length >= this.config.maxItems) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.config.lingerMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.config.maxItems);
    this.writing = true;
    this.write(batch.map((b) => b.item))
      .then(
        () => batch.forEach((b) => b.resolve()),
        (err: unknown) => batch.forEach((b) => b.reject(err)),
      )
      .finally(() => {
        this.writing = false;
        if (this.pending.length >= this.config.maxItems) this.flush();
        else if (this.pending.length > 0) this.timer ??= setTimeout(() => this.flush(), this.config.lingerMs);
      });
  }
}
