// The width of the charts: what a chart in a container should be drawn at, and a watcher that
// redraws a chart when its container's width changes (a resized window, a scroll bar).

// At least 300 px; 1000 px while the container is not laid out yet.
export function chartWidth (container) {
  return Math.max(300, container.clientWidth || 1000)
}

// Calls resize(width) when the chart width for `container` moves 2 px or more away from
// drawnWidth() (null: nothing drawn yet). Not while the container is hidden.
export function followWidth (container, drawnWidth, resize) {
  if (typeof ResizeObserver !== 'function') return
  new ResizeObserver(() => {
    const drawn = drawnWidth()
    if (drawn === null || !container.clientWidth) return
    const width = chartWidth(container)
    if (Math.abs(width - drawn) >= 2) resize(width)
  }).observe(container)
}
