/** uPlot and its stylesheet, one chunk loaded by the first chart (chart.tsx). */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export default uPlot;
