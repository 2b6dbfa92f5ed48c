// A local stand-in (127.0.0.1 only) for the EC2 instance metadata service (IMDSv2 token + identity
// document, with IMDSv1 fallback) and the ECS task metadata endpoint v4 (`/ecs/v4` and
// `/ecs/v4/task`). Records every request; its behaviour is switched per test through `state`.

import * as http from 'node:http';

export const IDENTITY_DOCUMENT = {
  accountId: '123456789012',
  architecture: 'x86_64',
  availabilityZone: 'eu-west-1b',
  imageId: 'ami-0abcdef1234567890',
  instanceId: 'i-0123456789abcdef0',
  instanceType: 'm5.large',
  pendingTime: '2024-01-01T00:00:00Z',
  privateIp: '10.0.0.12',
  region: 'eu-west-1',
  version: '2017-09-30',
};

export const ECS_CONTAINER = {
  DockerId: 'cd189a933e5849daa93386466019ab50-2495160603',
  Name: 'orders',
  DockerName: 'ecs-orders-1-orders-f4d0b8c8d8a5b6f4e701',
  Image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:latest',
  Labels: {
    'com.amazonaws.ecs.cluster': 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
    'com.amazonaws.ecs.task-arn': 'arn:aws:ecs:eu-west-1:123456789012:task/prod/cd189a933e5849daa93386466019ab50',
    'com.amazonaws.ecs.task-definition-family': 'orders',
  },
  ContainerARN: 'arn:aws:ecs:eu-west-1:123456789012:container/prod/cd189a933e5849daa93386466019ab50/6f4c7d1e-2b0c-4d8f-9d6e-0a4f0d8f1e22',
  LogDriver: 'awslogs',
  LogOptions: { 'awslogs-group': '/ecs/orders', 'awslogs-region': 'eu-west-1', 'awslogs-stream': 'ecs/orders/cd18' },
};

export const ECS_TASK = {
  Cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/prod',
  TaskARN: 'arn:aws:ecs:eu-west-1:123456789012:task/prod/cd189a933e5849daa93386466019ab50',
  Family: 'orders',
  Revision: '3',
  AvailabilityZone: 'eu-west-1a',
  LaunchType: 'FARGATE',
  Containers: [ECS_CONTAINER],
};

export interface MetadataRequestSeen {
  method: string;
  path: string;
  token: string | undefined;
  ttl: string | undefined;
}

export interface MetadataState {
  /** PUT /latest/api/token: 'ok' answers a token, 'refuse' 403, 'hang' never answers. */
  token: 'ok' | 'refuse' | 'hang';
  /** Identity document without a token (IMDSv1). */
  v1: boolean;
  /** Identity document: 'ok', 'error' (500), 'hang'. */
  document: 'ok' | 'error' | 'hang';
  /** ECS endpoint: 'ok', 'error' (500). */
  ecs: 'ok' | 'error';
}

export interface MetadataServer {
  url: string;
  /** ECS_CONTAINER_METADATA_URI_V4 value. */
  ecsUri: string;
  requests: MetadataRequestSeen[];
  state: MetadataState;
  close(): Promise<void>;
}

const TOKEN = 'AQAEAFake-Token==';

export async function startMetadataServer(state: Partial<MetadataState> = {}): Promise<MetadataServer> {
  const s: MetadataState = { token: 'ok', v1: true, document: 'ok', ecs: 'ok', ...state };
  const requests: MetadataRequestSeen[] = [];
  const server = http.createServer((req, res) => {
    const token = req.headers['x-aws-ec2-metadata-token'] as string | undefined;
    const ttl = req.headers['x-aws-ec2-metadata-token-ttl-seconds'] as string | undefined;
    requests.push({ method: req.method ?? '', path: req.url ?? '', token, ttl });
    const json = (status: number, body: unknown) => {
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (req.method === 'PUT' && req.url === '/latest/api/token') {
      if (s.token === 'hang') return;
      if (s.token === 'refuse' || ttl === undefined) return json(403, { message: 'Forbidden' });
      res.end(TOKEN);
      return;
    }
    if (req.method === 'GET' && req.url === '/latest/dynamic/instance-identity/document') {
      if (s.document === 'hang') return;
      if (s.document === 'error') return json(500, { message: 'boom' });
      if (token === undefined ? !s.v1 : token !== TOKEN) return json(401, { message: 'Unauthorized' });
      return json(200, IDENTITY_DOCUMENT);
    }
    if (req.method === 'GET' && (req.url === '/ecs/v4' || req.url === '/ecs/v4/task')) {
      if (s.ecs === 'error') return json(500, { message: 'boom' });
      return json(200, req.url === '/ecs/v4' ? ECS_CONTAINER : ECS_TASK);
    }
    json(404, { message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    ecsUri: `http://127.0.0.1:${port}/ecs/v4`,
    requests,
    state: s,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
