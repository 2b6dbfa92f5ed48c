// AWS SDK for JavaScript v3: every service client (`DynamoDBClient`, `S3Client`, the aggregated
// `DynamoDB`, lib-dynamodb's document client, …) extends the smithy `Client` and sends every
// command through `Client.prototype.send`. Wrapping that one method covers all clients, whether
// they were created before or after the first request: on a client's first send, one middleware
// is added to its stack (instrumentations/aws-sdk/v3-middleware), once per stack.
//
// Where `Client` lives depends on the release:
//   @aws-sdk/smithy-client  (v3 up to ~3.36x; later versions re-export @smithy/smithy-client)
//   @smithy/smithy-client   (~3.36x to ~3.9xx)
//   @smithy/core, file dist-cjs/submodules/client/index.js (`@smithy/core/client`, newest)
// None of them is loaded as ESM from Node (no exports map, or an exports map whose `node`/`require`
// condition is dist-cjs), so the CommonJS hook sees them for `import` too. When one package
// re-exports another's class, the second wrap is refused by the shim (already wrapped).

import type { ModuleInstrumentation, PatchContext } from '../../agent/hooks/definition';
import { wrap } from '../../agent/shim';
import { addMiddleware } from './v3-middleware';

function patchClient(exports: any, ctx: PatchContext): void {
  const proto = exports?.Client?.prototype;
  if (typeof proto?.send !== 'function') throw new Error('Client.prototype.send not found');
  const host = ctx.host;
  wrap(proto, 'send', (original) =>
    function send(this: unknown) {
      addMiddleware(this, host);
      return Reflect.apply(original, this, arguments);
    },
  );
}

export const smithyCore: ModuleInstrumentation = {
  name: 'aws-sdk',
  module: '@smithy/core',
  versions: ['>=3.0.0 <4'],
  files: [{ file: 'dist-cjs/submodules/client/index.js', patch: patchClient }],
};

export const smithyClient: ModuleInstrumentation = {
  name: 'aws-sdk',
  module: '@smithy/smithy-client',
  versions: ['>=1.0.0 <5'],
  patch: patchClient,
};

export const awsSmithyClient: ModuleInstrumentation = {
  name: 'aws-sdk',
  module: '@aws-sdk/smithy-client',
  // 3.99.0 is what @aws-sdk/client-*@3.100.0, the oldest release tested, depends on.
  versions: ['>=3.99.0 <4'],
  patch: patchClient,
};
