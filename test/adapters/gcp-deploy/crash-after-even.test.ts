import { crashSuite } from './crash-suite';

crashSuite('after', 0);
