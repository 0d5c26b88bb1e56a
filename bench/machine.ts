/** Facts about the machine a benchmark run happens on (CPU, cores, memory, Node, OS, load). */
import os from 'node:os';
import type { MachineFacts } from './model';

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  const [a = 0, b = 0, c = 0] = os.loadavg();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus.length,
    memoryGb: os.totalmem() / 1024 ** 3,
    node: process.version,
    os: `${os.type()} ${os.release()} ${process.arch}`,
    loadAverage: [a, b, c],
  };
}
