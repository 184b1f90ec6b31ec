import { Duplex } from 'node:stream'
import type { Socket } from 'node:net'

/** Why a connection's byte stream was refused. */
export type FrameViolation =
  { kind: 'too_large'; remainingLength: number } | { kind: 'malformed_length' }

/**
 * Follows the MQTT framing of one connection's inbound bytes — a fixed header (one byte of packet
 * type and flags, then the remaining length as a variable byte integer of 1–4 bytes) followed by
 * that many bytes — and reports a packet whose remaining length exceeds `maxRemainingLength` as soon
 * as its length field is read, before any of its body needs to be held. Bodies are skipped by
 * counting, so the cost per chunk does not depend on how large the packets are.
 */
export class MqttFrameScanner {
  private skip = 0
  private inLength = false
  private length = 0
  private multiplier = 1
  private lengthBytes = 0

  constructor(private readonly maxRemainingLength: number) {}

  /** Scans the next chunk; null while the stream is acceptable. */
  feed(chunk: Uint8Array): FrameViolation | null {
    let i = 0
    while (i < chunk.length) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, chunk.length - i)
        this.skip -= take
        i += take
        continue
      }
      if (!this.inLength) {
        // The packet type byte.
        i++
        this.inLength = true
        this.length = 0
        this.multiplier = 1
        this.lengthBytes = 0
        continue
      }
      const byte = chunk[i++] ?? 0
      this.length += (byte & 0x7f) * this.multiplier
      this.multiplier *= 128
      this.lengthBytes++
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return { kind: 'malformed_length' }
        continue
      }
      if (this.length > this.maxRemainingLength)
        return { kind: 'too_large', remainingLength: this.length }
      this.skip = this.length
      this.inLength = false
    }
    return null
  }
}

/**
 * Puts `socket` behind a duplex that passes every byte through unchanged, but destroys the
 * connection as soon as the fixed header of a packet larger than `maxRemainingLength` (or a malformed
 * length) arrives, so the broker never buffers that packet's body. Writes go straight to the socket.
 */
export function guardPacketSize(
  socket: Socket,
  maxRemainingLength: number,
  onViolation: (violation: FrameViolation) => void,
): Duplex {
  const scanner = new MqttFrameScanner(maxRemainingLength)
  const guarded: Duplex = new Duplex({
    allowHalfOpen: false,
    read() {
      socket.resume()
    },
    write(chunk: Buffer, _encoding, callback) {
      if (socket.write(chunk)) callback()
      else socket.once('drain', () => callback())
    },
    // mqtt-packet corks the stream around each packet it writes: hand the batch to the socket as one
    // write instead of one system call per chunk (half the throughput otherwise).
    writev(chunks, callback) {
      socket.cork()
      let ok = true
      for (const { chunk } of chunks) ok = socket.write(chunk as Buffer)
      socket.uncork()
      if (ok) callback()
      else socket.once('drain', () => callback())
    },
    final(callback) {
      socket.end(() => callback())
    },
    destroy(err, callback) {
      socket.destroy()
      callback(err)
    },
  })
  socket.on('data', (chunk: Buffer) => {
    if (guarded.destroyed) return
    const violation = scanner.feed(chunk)
    if (violation) {
      onViolation(violation)
      socket.destroy()
      guarded.destroy()
      return
    }
    if (!guarded.push(chunk)) socket.pause()
  })
  socket.on('end', () => guarded.push(null))
  socket.on('error', (err) => guarded.destroy(err))
  socket.on('close', () => guarded.destroy())
  return guarded
}
