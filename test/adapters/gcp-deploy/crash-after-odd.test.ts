import { crashSuite } from './crash-suite';

await crashSuite('after', 1);
