import { crashSuite } from './crash-suite';

await crashSuite('before', 1);
