import { formatTime, isoOf } from '../format';

export function TimeText({ time }: { time: string | number | null | undefined }) {
  if (time === null || time === undefined || time === '') return <span>—</span>;
  const iso = isoOf(time);
  return (
    <time dateTime={iso} title={iso}>
      {formatTime(time)}
    </time>
  );
}
