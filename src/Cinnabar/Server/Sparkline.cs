// ASCII sparklines (Redis's sparkline.c, from antirez/aspark), what LATENCY GRAPH draws: each
// sample is a column whose height in rows x 3 steps ("_o#" per row when filled, '|' below the
// top) is its value's place between the sequence's min and max, with its label printed
// vertically underneath. Wider sequences wrap every `columns` samples.
using System.Text;

namespace Cinnabar.Server;

public sealed class Sparkline
{
    const string Charset = "_-`", CharsetFill = "_o#";
    const int LabelMarginTop = 1;

    readonly List<(double Value, string? Label)> _samples = [];
    double _min, _max;
    int _labels;

    public int Length => _samples.Count;

    /// <summary>sparklineSequenceAddSample: an empty label counts as none.</summary>
    public void Add(double value, string? label)
    {
        if (string.IsNullOrEmpty(label)) label = null;
        if (_samples.Count == 0) _min = _max = value;
        else if (value < _min) _min = value;
        else if (value > _max) _max = value;
        _samples.Add((value, label));
        if (label != null) _labels++;
    }

    /// <summary>sparklineRender: the sequence in chunks of `columns` samples, separated by an empty line.</summary>
    public void Render(StringBuilder output, int columns, int rows, bool fill)
    {
        for (int j = 0; j < _samples.Count; j += columns)
        {
            int len = Math.Min(_samples.Count - j, columns);
            if (j != 0) output.Append('\n');
            RenderRange(output, rows, j, len, fill);
        }
    }

    /// <summary>sparklineRenderRange: the graph's rows top down, then a spacer row and the labels' rows.</summary>
    void RenderRange(StringBuilder output, int rows, int offset, int len, bool fill)
    {
        double relmax = _max - _min;
        int steps = Charset.Length * rows;
        if (relmax == 0) relmax = 1;
        var chars = new char[len];
        int row = 0;
        bool loop = true;
        while (loop)
        {
            loop = false;
            Array.Fill(chars, ' ');
            for (int j = 0; j < len; j++)
            {
                var (value, label) = _samples[j + offset];
                double relval = value - _min;
                // As the C: the product is truncated before the division, the quotient after.
                int step = (int)((int)(relval * steps) / relmax);
                if (step < 0) step = 0;
                if (step >= steps) step = steps - 1;
                if (row < rows)
                {
                    int charidx = step - (rows - row - 1) * Charset.Length;
                    loop = true;
                    if (charidx >= 0 && charidx < Charset.Length) chars[j] = fill ? CharsetFill[charidx] : Charset[charidx];
                    else if (fill && charidx >= Charset.Length) chars[j] = '|';
                }
                else
                {
                    if (_labels > 0 && row - rows < LabelMarginTop)
                    {
                        loop = true;
                        break;
                    }
                    if (label != null)
                    {
                        int labelChar = row - rows - LabelMarginTop;
                        if (label.Length > labelChar)
                        {
                            loop = true;
                            chars[j] = label[labelChar];
                        }
                    }
                }
            }
            if (loop)
            {
                row++;
                output.Append(chars).Append('\n');
            }
        }
    }
}
