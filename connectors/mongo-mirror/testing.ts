import type { Db } from 'mongodb';
import { openTestMongo } from '../mongo/testing.js';

/** Test support (not a test): a fresh database on the real MongoDB, dropped on close. */
export function openMirrorTestDb(): Promise<{ db: Db; close: () => Promise<void> }> {
  return openTestMongo('mirror');
}
