// A small local AWS endpoint for e2e tests of the AWS SDK instrumentation: it answers the few SQS,
// SNS and Lambda operations the fixtures call, in the real wire protocols the SDKs speak, and
// records every request it receives (with its X-Amzn-Trace-Id). One port serves all three:
//   SQS     AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Op>`, recent v3 clients) or the query protocol
//           (form body `Action=<Op>`, v2 and older v3 clients); the request goes to the queue URL.
//   SNS     query protocol (`Action=Publish`), XML responses.
//   Lambda  REST JSON: POST /2015-03-31/functions/<name>/invocations.
// Behaviour is chosen by the resource name, so tests need no control channel:
//   a queue, topic or function named `throttle…` → every request answers throttling (HTTP 400
//     `Throttling` for the query protocol, 400 `ThrottlingException` for SQS JSON, 429
//     `TooManyRequestsException` for Lambda); `missing…` → a "does not exist" error;
//   `flaky…` → the first request for that name answers HTTP 500, the next ones succeed (a retry).

import * as crypto from 'node:crypto';
import * as http from 'node:http';

export interface EndpointRequest {
  service: 'sqs' | 'sns' | 'lambda' | 'unknown';
  operation: string;
  /** Queue, topic or function name the request is about. */
  resource: string;
  traceHeader: string | undefined;
  /** JSON for JSON protocols, the form fields for the query protocol. */
  protocol: 'json' | 'query' | 'rest';
}

export interface AwsEndpoint {
  url: string;
  port: number;
  requests: EndpointRequest[];
  /** `http://127.0.0.1:<port>/123456789012/<name>`: where SQS clients send requests for `name`. */
  queueUrl(name: string): string;
  topicArn(name: string): string;
  close(): Promise<void>;
}

export const ACCOUNT = '123456789012';

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export async function startAwsEndpoint(): Promise<AwsEndpoint> {
  const requests: EndpointRequest[] = [];
  const seen = new Set<string>();
  let counter = 0;
  const nextId = (): string => {
    counter += 1;
    return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = req.headers['x-amzn-trace-id'];
      const traceHeader = Array.isArray(header) ? header[0] : header;
      const requestId = nextId();
      let reply: Reply;
      try {
        reply = route(req, body, traceHeader, requestId);
      } catch (err) {
        reply = { status: 500, headers: { 'content-type': 'text/plain' }, body: String(err) };
      }
      res.writeHead(reply.status, { ...reply.headers, 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(reply.body) });
      res.end(reply.body);
    });
  });

  /** What the behaviour of `name` asks for: throttle, missing, a first failure, or success. */
  function behaviour(name: string, op: string): 'throttle' | 'missing' | 'fail-once' | 'ok' {
    if (name.startsWith('throttle')) return 'throttle';
    if (name.startsWith('missing')) return 'missing';
    if (name.startsWith('flaky')) {
      const key = `${op}:${name}`;
      if (!seen.has(key)) {
        seen.add(key);
        return 'fail-once';
      }
    }
    return 'ok';
  }

  function route(req: http.IncomingMessage, body: string, traceHeader: string | undefined, requestId: string): Reply {
    const url = new URL(req.url ?? '/', 'http://x');
    const lambda = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (lambda) {
      const name = decodeURIComponent(lambda[1]!);
      requests.push({ service: 'lambda', operation: 'Invoke', resource: name, traceHeader, protocol: 'rest' });
      return lambdaInvoke(name, body);
    }
    const target = req.headers['x-amz-target'];
    if (typeof target === 'string' && target.startsWith('AmazonSQS.')) {
      const op = target.slice('AmazonSQS.'.length);
      const input = JSON.parse(body || '{}') as Record<string, any>;
      const name = queueName(input.QueueUrl);
      requests.push({ service: 'sqs', operation: op, resource: name, traceHeader, protocol: 'json' });
      return sqsJson(op, name, input, requestId);
    }
    const form = new URLSearchParams(body);
    const action = form.get('Action') ?? '';
    if (action === 'Publish') {
      const name = (form.get('TopicArn') ?? '').split(':').pop() ?? '';
      requests.push({ service: 'sns', operation: action, resource: name, traceHeader, protocol: 'query' });
      return snsPublish(name, requestId);
    }
    if (action !== '') {
      const name = queueName(form.get('QueueUrl') ?? `${url.pathname}`);
      requests.push({ service: 'sqs', operation: action, resource: name, traceHeader, protocol: 'query' });
      return sqsQuery(action, name, form, requestId);
    }
    requests.push({ service: 'unknown', operation: `${req.method} ${url.pathname}`, resource: '', traceHeader, protocol: 'rest' });
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
  }

  function lambdaInvoke(name: string, body: string): Reply {
    const json = { 'content-type': 'application/json' };
    switch (behaviour(name, 'Invoke')) {
      case 'throttle':
        return { status: 429, headers: { ...json, 'x-amzn-errortype': 'TooManyRequestsException' }, body: JSON.stringify({ Type: 'User', message: 'Rate exceeded', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' }) };
      case 'missing':
        return { status: 404, headers: { ...json, 'x-amzn-errortype': 'ResourceNotFoundException' }, body: JSON.stringify({ Type: 'User', Message: `Function not found: arn:aws:lambda:us-east-1:${ACCOUNT}:function:${name}` }) };
      case 'fail-once':
        return { status: 500, headers: { ...json, 'x-amzn-errortype': 'ServiceException' }, body: JSON.stringify({ Type: 'Service', message: 'try again' }) };
      default:
        return { status: 200, headers: { ...json, 'x-amz-executed-version': '$LATEST' }, body: JSON.stringify({ echo: body.length > 0 ? JSON.parse(body) : null }) };
    }
  }

  function sqsJson(op: string, name: string, input: Record<string, any>, requestId: string): Reply {
    const headers = { 'content-type': 'application/x-amz-json-1.0' };
    const error = (status: number, type: string, query: string, message: string): Reply => ({
      status,
      headers: { ...headers, 'x-amzn-query-error': query },
      body: JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message }),
    });
    switch (behaviour(name, op)) {
      case 'throttle':
        return error(400, 'ThrottlingException', 'ThrottlingException;Sender', 'Rate exceeded');
      case 'missing':
        return error(400, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue;Sender', 'The specified queue does not exist.');
      case 'fail-once':
        return error(500, 'InternalError', 'InternalError;Receiver', 'try again');
    }
    if (op === 'SendMessage') {
      return { status: 200, headers, body: JSON.stringify({ MessageId: requestId, MD5OfMessageBody: md5(String(input.MessageBody ?? '')) }) };
    }
    if (op === 'SendMessageBatch') {
      const entries = (input.Entries ?? []) as Array<{ Id: string; MessageBody: string }>;
      const Successful = entries.map((e, i) => ({ Id: e.Id, MessageId: `${requestId}-${i}`, MD5OfMessageBody: md5(e.MessageBody) }));
      return { status: 200, headers, body: JSON.stringify({ Successful, Failed: [] }) };
    }
    return error(400, 'UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation;Sender', `${op} is not supported here`);
  }

  function sqsQuery(op: string, name: string, form: URLSearchParams, requestId: string): Reply {
    const headers = { 'content-type': 'text/xml' };
    const error = (status: number, code: string, message: string): Reply => ({
      status,
      headers,
      body: `<?xml version="1.0"?><ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    });
    switch (behaviour(name, op)) {
      case 'throttle':
        return error(400, 'Throttling', 'Rate exceeded');
      case 'missing':
        return error(400, 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.');
      case 'fail-once':
        return error(500, 'InternalError', 'try again');
    }
    const meta = `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata>`;
    const ns = 'xmlns="http://queue.amazonaws.com/doc/2012-11-05/"';
    if (op === 'SendMessage') {
      const result = `<MessageId>${requestId}</MessageId><MD5OfMessageBody>${md5(form.get('MessageBody') ?? '')}</MD5OfMessageBody>`;
      return { status: 200, headers, body: `<?xml version="1.0"?><SendMessageResponse ${ns}><SendMessageResult>${result}</SendMessageResult>${meta}</SendMessageResponse>` };
    }
    if (op === 'SendMessageBatch') {
      let entries = '';
      for (let i = 1; form.has(`SendMessageBatchRequestEntry.${i}.Id`); i++) {
        const id = form.get(`SendMessageBatchRequestEntry.${i}.Id`)!;
        const bodyText = form.get(`SendMessageBatchRequestEntry.${i}.MessageBody`) ?? '';
        entries += `<SendMessageBatchResultEntry><Id>${id}</Id><MessageId>${requestId}-${i}</MessageId><MD5OfMessageBody>${md5(bodyText)}</MD5OfMessageBody></SendMessageBatchResultEntry>`;
      }
      return { status: 200, headers, body: `<?xml version="1.0"?><SendMessageBatchResponse ${ns}><SendMessageBatchResult>${entries}</SendMessageBatchResult>${meta}</SendMessageBatchResponse>` };
    }
    return error(400, 'AWS.SimpleQueueService.UnsupportedOperation', `${op} is not supported here`);
  }

  function snsPublish(name: string, requestId: string): Reply {
    const headers = { 'content-type': 'text/xml' };
    const ns = 'xmlns="http://sns.amazonaws.com/doc/2010-03-31/"';
    const error = (status: number, code: string, message: string): Reply => ({
      status,
      headers,
      body: `<ErrorResponse ${ns}><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    });
    switch (behaviour(name, 'Publish')) {
      case 'throttle':
        return error(400, 'Throttling', 'Rate exceeded');
      case 'missing':
        return error(404, 'NotFound', 'Topic does not exist');
      case 'fail-once':
        return error(500, 'InternalError', 'try again');
    }
    return {
      status: 200,
      headers,
      body: `<PublishResponse ${ns}><PublishResult><MessageId>${requestId}</MessageId></PublishResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></PublishResponse>`,
    };
  }

  server.keepAliveTimeout = 500;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    requests,
    queueUrl: (name) => `${url}/${ACCOUNT}/${name}`,
    topicArn: (name) => `arn:aws:sns:us-east-1:${ACCOUNT}:${name}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function queueName(queueUrl: unknown): string {
  return typeof queueUrl === 'string' ? (queueUrl.split('/').pop() ?? '') : '';
}

function md5(text: string): string {
  return crypto.createHash('md5').update(text, 'utf8').digest('hex');
}
