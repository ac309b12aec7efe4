/**
 * A socket that records the live frames (with when they arrived) and the live states it receives.
 */
import type { LiveFrame, LiveState } from '../../shared/protocol.js';
import { connectSocket, type ClientSocket } from './socket-client.js';

export interface LiveWatch {
  socket: ClientSocket;
  frames: (LiveFrame & { at: number })[];
  states: LiveState[];
}

export function watchLive(url: string, token: string): LiveWatch {
  const socket = connectSocket(url, token);
  const w: LiveWatch = { socket, frames: [], states: [] };
  socket.on('live:frame', (f) => w.frames.push({ ...f, at: performance.now() }));
  socket.on('live:state', (s) => w.states.push(s));
  return w;
}
