import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config';

describe('move settings', () => {
  test('default to batches of 10000 in 2 lanes', () => {
    const config = loadConfig({});
    expect([config.moveBatchSize, config.moveLanes]).toEqual([10000, 2]);
  });

  test('are read from the environment', () => {
    const config = loadConfig({ MOVE_BATCH_SIZE: '250', MOVE_LANES: '3' });
    expect([config.moveBatchSize, config.moveLanes]).toEqual([250, 3]);
  });

  test.each(['0', '-1', '1.5', 'two'])('refuse %s at start, naming the setting', (bad) => {
    expect(() => loadConfig({ MOVE_LANES: bad })).toThrow(`MOVE_LANES must be a positive integer, got "${bad}"`);
    expect(() => loadConfig({ MOVE_BATCH_SIZE: bad })).toThrow('MOVE_BATCH_SIZE must be a positive integer');
  });
});
