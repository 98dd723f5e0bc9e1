import { render } from 'preact';
import { App } from './app';
import { liveFeed } from './live-feed';
import './styles.css';

liveFeed.start();
const root = document.getElementById('app');
if (root !== null) render(<App />, root);
