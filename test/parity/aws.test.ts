import { awsAdapter } from '../../adapters/aws';
import { checkParity } from './check';

checkParity(awsAdapter);
