/** The shared stream suite against RabbitMQ (a real broker on 127.0.0.1:5672, guest/guest). */
import { rabbitmqBroker } from './helpers/brokers.js';
import { streamSuite } from './stream.suite.js';

streamSuite(rabbitmqBroker);
