import type { ProviderName } from '../config/schema';
import { github } from './github';
import { gitlab } from './gitlab';
import type { Provider } from './provider';

export const providers: Record<ProviderName, Provider> = { github, gitlab };
