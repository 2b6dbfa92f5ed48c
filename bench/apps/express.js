'use strict';
// App 3: an express app answering 'hello' from a parameterised route behind a router and two
// small middlewares, so the agent's framework work (route template, middleware chain context) is
// measured on top of the HTTP segment. express comes from .test-versions (EXPRESS_NODE_MODULES).

const path = require('node:path');
const probe = require('./probe');

const express = require(require.resolve('express', { paths: [path.dirname(process.env.EXPRESS_NODE_MODULES)] }));

const app = express();
app.use((req, res, next) => {
  res.setHeader('x-app', 'bench');
  next();
});
app.use(express.json());
const users = express.Router();
users.get('/:id', (req, res) => res.type('text/plain').send('hello'));
app.use('/users', users);

const server = app.listen(0, '127.0.0.1', () => probe.attach(server));
