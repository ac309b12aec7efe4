/**
 * Which shots a Yjs transaction touched: each changed type is walked up to its shot map (a
 * Y.Map directly inside the `shots` array), whose `id` names the shot.
 */
import * as Y from 'yjs';
import { shotsOf } from '../../shared/scene-doc.js';

export function editedShots(transaction: Y.Transaction): string[] {
  const shots = shotsOf(transaction.doc);
  const ids = new Set<string>();
  for (const type of transaction.changed.keys()) {
    let current: Y.AbstractType<unknown> | null = type as Y.AbstractType<unknown>;
    while (current && current.parent !== shots) {
      current = (current._item?.parent as Y.AbstractType<unknown> | undefined) ?? null;
    }
    if (current instanceof Y.Map) {
      const id = current.get('id');
      if (typeof id === 'string') ids.add(id);
    }
  }
  return [...ids];
}
