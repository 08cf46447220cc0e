/*
 * Training progress: on a terminal, one bar per epoch redrawn in place with
 * the running loss, accuracy, samples per second and time left; elsewhere
 * (a pipe, a log file), one plain line per epoch; nothing when quiet.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define BAR_WIDTH 24

void cli_progress_init(struct cli_progress *p, FILE *out, bool quiet, bool classify)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->quiet = quiet;
    p->tty = isatty(fileno(out)) != 0;
    p->classify = classify;
}

void cli_progress_begin_epoch(struct cli_progress *p, int epoch, int epochs, size_t total)
{
    p->epoch = epoch;
    p->epochs = epochs;
    p->total = total;
    p->done = 0;
    p->t_start = cli_now();
    p->t_last_draw = 0;
}

static void format_time(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void cli_progress_update(struct cli_progress *p, size_t done, double loss, double acc)
{
    p->done = done;
    if (p->quiet || !p->tty)
        return;
    double now = cli_now();
    if (done < p->total && now - p->t_last_draw < 0.1)
        return;
    p->t_last_draw = now;
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)done / elapsed : 0;
    double frac = p->total ? (double)done / (double)p->total : 1;
    int fill = (int)(frac * BAR_WIDTH);
    char bar[BAR_WIDTH + 1], left[16];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    format_time(left, sizeof left, rate > 0 ? (double)(p->total - done) / rate : (double)NAN);
    fprintf(p->out, "\repoch %d/%d [%s] %3.0f%% loss %.4f", p->epoch, p->epochs, bar,
            100 * frac, loss);
    if (p->classify)
        fprintf(p->out, " acc %.4f", acc);
    fprintf(p->out, " %.0f samples/s %s left\033[K", rate, left);
    fflush(p->out);
}

void cli_progress_end_epoch(struct cli_progress *p, const struct cli_epoch_row *r)
{
    if (p->quiet)
        return;
    if (p->tty)
        fputs("\r\033[K", p->out);
    fprintf(p->out, "epoch %d/%d  step %ld  lr %.3g  loss %.4f", r->epoch, p->epochs, r->step,
            r->lr, r->train_loss);
    if (!isnan(r->train_acc))
        fprintf(p->out, "  acc %.4f", r->train_acc);
    if (!isnan(r->val_loss))
        fprintf(p->out, "  val_loss %.4f", r->val_loss);
    if (!isnan(r->val_acc))
        fprintf(p->out, "  val_acc %.4f", r->val_acc);
    double rate = r->seconds > 0 ? (double)p->done / r->seconds : 0;
    fprintf(p->out, "  %.0f samples/s  %.1fs\n", rate, r->seconds);
    fflush(p->out);
}
