import type { FastifyRequest } from 'fastify';
import { GraphErrors } from '../errors.js';

const DECIMAL = /^-?(0|[1-9][0-9]{0,15})$/;

interface SchemaLike {
  type?: string;
  properties?: Record<string, SchemaLike>;
}

/**
 * Query-string integers are plain decimal digits. Fastify's coercion (`+value`) would turn
 * "Infinity", "1e309", "0x10", " 5" or "5.0" into numbers that pass or break the range checks;
 * this hook (preValidation: before coercion) refuses them, naming the field.
 */
export async function strictIntegers(req: FastifyRequest): Promise<void> {
  const props = (req.routeOptions.schema?.querystring as SchemaLike | undefined)?.properties;
  if (!props) return;
  const query = req.query as Record<string, unknown>;
  for (const [name, schema] of Object.entries(props)) {
    if (schema.type !== 'integer' || !(name in query)) continue;
    const raw = query[name];
    for (const v of Array.isArray(raw) ? raw : [raw]) {
      if (typeof v !== 'string' || !DECIMAL.test(v)) {
        throw GraphErrors.FP_ERR_BAD_REQUEST(`querystring/${name} must be a decimal integer, not ${JSON.stringify(String(v).slice(0, 32))}`);
      }
    }
  }
}
