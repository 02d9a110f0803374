/** Splits N input rows into fixed-size chunks: the unit of work and of loss on a crash. */
export interface ChunkPlan {
  index: number;
  start: number;
  end: number;
}

export function planChunks(rows: number, chunkSize: number): ChunkPlan[] {
  const plan: ChunkPlan[] = [];
  for (let start = 0, index = 0; start < rows; start += chunkSize, index += 1) {
    plan.push({ index, start, end: Math.min(rows, start + chunkSize) });
  }
  return plan;
}
