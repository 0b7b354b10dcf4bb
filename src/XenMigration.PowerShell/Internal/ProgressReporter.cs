using System;
using System.Diagnostics;
using System.Globalization;
using System.Management.Automation;

namespace XenMigration.Commands
{
    /// <summary>
    /// Throttled Write-Progress: nothing for the first second (small files never show a bar), then
    /// at most two updates a second, and a Completed record only if something was shown. Windows
    /// PowerShell does not rate-limit progress itself, and unthrottled progress can cost more than
    /// the work it reports.
    /// </summary>
    internal sealed class ProgressReporter
    {
        // Not readonly: the tests set both to zero (through reflection) to see every update.
        private static long s_firstDelay = Stopwatch.Frequency;
        private static long s_interval = Stopwatch.Frequency / 2;

        private readonly Cmdlet _cmdlet;
        private readonly int _activityId;
        private readonly string _activity;
        private readonly long _start = Stopwatch.GetTimestamp();
        private long _next;
        private bool _shown;

        public ProgressReporter(Cmdlet cmdlet, int activityId, string activity)
        {
            _cmdlet = cmdlet;
            _activityId = activityId;
            _activity = activity;
            _next = _start + s_firstDelay;
        }

        /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> bytes (total null when unknown).</summary>
        public void Report(string item, long done, long? total)
        {
            long now = Stopwatch.GetTimestamp();
            if (now < _next)
            {
                return;
            }

            _next = now + s_interval;
            double seconds = (now - _start) / (double)Stopwatch.Frequency;
            double rate = seconds > 0 ? done / seconds : 0;
            string status = total is long t && t > 0
                ? string.Format(CultureInfo.CurrentCulture, "{0}: {1} of {2} ({3}/s)", item, Bytes(done), Bytes(t), Bytes((long)rate))
                : string.Format(CultureInfo.CurrentCulture, "{0}: {1} ({2}/s)", item, Bytes(done), Bytes((long)rate));
            var record = new ProgressRecord(_activityId, _activity, status);
            if (total is long length && length > 0)
            {
                record.PercentComplete = (int)Math.Min(100, done * 100 / length);
            }

            _cmdlet.WriteProgress(record);
            _shown = true;
        }

        /// <summary>Closes the bar if one was shown.</summary>
        public void Complete()
        {
            if (_shown)
            {
                _cmdlet.WriteProgress(new ProgressRecord(_activityId, _activity, "Done") { RecordType = ProgressRecordType.Completed });
                _shown = false;
            }
        }

        private static string Bytes(long n) =>
            n >= 1L << 30 ? string.Format(CultureInfo.CurrentCulture, "{0:0.0} GB", n / (double)(1L << 30))
            : n >= 1L << 20 ? string.Format(CultureInfo.CurrentCulture, "{0:0.0} MB", n / (double)(1L << 20))
            : string.Format(CultureInfo.CurrentCulture, "{0:0} KB", n / 1024.0);
    }
}
