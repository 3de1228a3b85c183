/**
 * Attack (d): a GPU buffer left by one invocation and read by another. The shop's photos function
 * keeps one device staging buffer per instance and copies results back with the size the request
 * asks for; an attacker's request with no photo reads what an earlier customer's invocation left.
 * Without a GPU every CUDA call fails: the graph then holds the calls attempted (pointer, size,
 * direction, return code), which is the path the data would have taken; nothing is actually leaked.
 */
import { randomUUID } from 'node:crypto';
import { invocationTruth, type TruthRef } from '@faasprov/model';
import { FunctionsErrors } from '../errors.js';
import { dirname, resolve } from 'node:path';
import { alive, readState, stateFileFor } from '../functions/state.js';

/** What attack (d) did: the nodes and edges a complete story must hold. */
export interface GpuGroundTruth {
  attack: 'd';
  function: 'photos';
  /** The customer's invocation whose thumbnail stayed in the staging buffer. */
  writer: string;
  /** The attacker's invocation that read it back. */
  reader: string;
  /** The staging buffer: pointer as the function saw it, size, and the pid of the instance's process (its device). */
  buffer: { ptr: string; size: number; pid: number };
  /** The return codes the function reported for its CUDA calls (no GPU: errors). */
  calls: { writer: Record<string, string | number>; reader: Record<string, string | number> };
  /** The invocation the alert must be about. */
  alerted: string;
  benign: { function: string; callId: string }[];
  /** Edges as TYPE from to, naming nodes: writer, reader (their units), buffer (the version the writer's copy made). */
  edges: [string, string, string][];
  /** The nodes the attack view must show (with the alert), as the attack-precision benchmark reads them. */
  nodes: TruthRef[];
}

interface PhotosAnswer {
  gpu: Record<string, string | number>;
  staging: { ptr: string; size: number; pid: number };
}

async function photos(gateway: string, body: unknown, callId: string): Promise<{ callId: string; answer: PhotosAnswer }> {
  const r = await fetch(`${gateway}/function/photos`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-call-id': callId }, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('d', `photos answered ${r.status}: ${text.slice(0, 200)}`);
  return { callId: r.headers.get('x-call-id') ?? callId, answer: JSON.parse(text) as PhotosAnswer };
}

const photo = (text: string, n: number) => Buffer.from(text.repeat(Math.ceil(n / text.length)).slice(0, n)).toString('base64');

/** Benign photos traffic: thumbnails of product photos, each uploaded and read back by its own invocation. */
export async function benignPhotos(gateway: string, rounds: number): Promise<GpuGroundTruth['benign']> {
  const out: GpuGroundTruth['benign'] = [];
  for (let i = 0; i < rounds; i++) {
    const { callId } = await photos(gateway, { product: 'mug', photo: photo(`product-photo-${i}|`, 4096), size: 64 }, `benign-${randomUUID().slice(0, 8)}-photos`);
    out.push({ function: 'photos', callId });
  }
  return out;
}

/** Attack (d) against the running shop; returns its ground truth. other: benign traffic of the other functions, run alongside. */
export async function attackD(stackFile: string, log: (s: string) => void, other: (gateway: string) => Promise<GpuGroundTruth['benign']>): Promise<GpuGroundTruth> {
  const stack = resolve(stackFile);
  const state = readState(stateFileFor(dirname(stack)));
  if (!state || !state.gateway || !alive(state.pid, state.start)) throw FunctionsErrors.FP_ERR_DEMO_NOT_UP(stack);
  if (!state.instances.some((i) => i.function === 'photos')) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('d', `the running stack ${stack} has no photos function`);
  const gateway = state.gateway;
  log('benign traffic: product thumbnails through photos (each reads back what it uploaded), purchases and catalog updates');
  const benign = [...await benignPhotos(gateway, 2)];
  const tag = randomUUID().slice(0, 8);
  // The photos steps run one after another (one staging buffer); other functions' traffic runs alongside.
  const alongside = other(gateway);
  log("attack (d): a customer's private photo goes through photos, whose thumbnail stays in the instance's GPU staging buffer");
  const writer = await photos(gateway, { product: 'passport-scan', photo: photo('PRIVATE customer document|', 8192), size: 256 }, `attack-d-customer-${tag}`);
  log('attack (d): the attacker calls photos with no photo and asks for 64 KiB back: the device copy reads what the customer left');
  const reader = await photos(gateway, { product: 'x', result_bytes: 65536 }, `attack-d-reader-${tag}`);
  benign.push(...await alongside);
  const buf = writer.answer.staging;
  if (buf.ptr !== reader.answer.staging.ptr || buf.pid !== reader.answer.staging.pid) throw FunctionsErrors.FP_ERR_DEMO_ATTACK('d', 'the two invocations were not served by one instance with one staging buffer');
  const failed = Object.values(reader.answer.gpu).some((rc) => rc !== 0);
  log(failed
    ? `no GPU here: the CUDA calls failed (${Object.entries(reader.answer.gpu).map(([k, v]) => `${k}: ${v}`).join(', ')}), so the attacker got nothing; the calls were made and captured all the same`
    : 'the attacker read the customer\'s thumbnail back from the device');
  return {
    attack: 'd', function: 'photos', writer: writer.callId, reader: reader.callId, buffer: buf, calls: { writer: writer.answer.gpu, reader: reader.answer.gpu },
    alerted: reader.callId, benign,
    edges: [['WAS_GENERATED_BY', 'buffer', 'writer'], ['USED', 'reader', 'buffer']],
    // The buffer by pointer and size: one photos instance has one (its device names the process, whose start the scenario cannot know);
    // its allocation (the bytes the customer did not overwrite are as allocated) and the version the customer's copy made.
    nodes: [
      ...invocationTruth(writer.callId), ...invocationTruth(reader.callId),
      { type: 'GpuBuffer', match: { ptr: buf.ptr, size: buf.size, api: 'cudaMalloc' } }, { type: 'GpuBuffer', match: { ptr: buf.ptr, size: buf.size }, by: writer.callId },
    ],
  };
}
