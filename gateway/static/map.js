// The video map: Leaflet (npm) over the district's own GeoJSON, cameras clustered with
// supercluster (npm) so 100,000 stay usable. No CDN, no internet tiles unless the operator set one.
(function () {
  const COLOURS = {online: "#1e7b34", offline: "#6b7785", faulty: "#b3261e", unknown: "#d49b00"};
  const LEVEL_STYLE = {
    district: {color: "#13233a", weight: 2, fill: false},
    street: {color: "#13233a", weight: 1.5, dashArray: "6 4", fill: false},
    community: {color: "#51657f", weight: 0.8, fill: false},
  };

  function wedge(lat, lon, az, fov, metres) {
    // A field-of-view sector as a polygon: the camera's direction ± half its angle.
    const pts = [[lat, lon]], r = metres / 111320, k = Math.cos(lat * Math.PI / 180);
    for (let a = az - fov / 2; a <= az + fov / 2 + 0.1; a += Math.max(2, fov / 12)) {
      const t = a * Math.PI / 180;
      pts.push([lat + r * Math.cos(t), lon + r * Math.sin(t) / k]);
    }
    return pts;
  }

  async function govopsMap(el, opts) {
    opts = opts || {};
    const t0 = performance.now();
    const map = L.map(el, {preferCanvas: true, zoomSnap: 0.25, attributionControl: !!opts.tileUrl,
                           keyboard: !opts.screen, zoomControl: !opts.screen});
    if (opts.tileUrl) L.tileLayer(opts.tileUrl, {attribution: opts.tileAttribution || "", maxZoom: 19}).addTo(map);
    const canvas = L.canvas({padding: 0.3});
    const [areas, cams] = await Promise.all([
      fetch("/video/map/areas.geojson?colour=" + (opts.colour || "density")).then(r => r.json()),
      opts.cameras === false ? Promise.resolve({rows: [], statuses: []}) : fetch("/video/map/cameras.json" + (opts.problems ? "?problems=true" : "")).then(r => r.json()),
    ]);
    const layer = L.geoJSON(areas, {
      renderer: canvas,
      style: f => f.properties.level === "grid"
        ? {color: f.properties.key_place ? "#b3261e" : "#ffffff", weight: f.properties.key_place ? 2 : 1,
           fillColor: f.properties.fill || "#d5d9de", fillOpacity: 0.55}
        : LEVEL_STYLE[f.properties.level],
      onEachFeature: (f, l) => {
        const p = f.properties;
        l.bindTooltip(p.name + (p.label ? "<br>" + p.label : "") + (p.key_place ? "<br>重点区域 key place" : ""),
                      {sticky: true});
      },
    }).addTo(map);
    // Street names as permanent labels: the base layer has no tiles to name them.
    areas.features.filter(f => f.properties.level === "street").forEach(f => {
      const c = L.geoJSON(f).getBounds().getCenter();
      L.marker(c, {interactive: false, icon: L.divIcon({className: "area-label", html: f.properties.name})}).addTo(map);
    });
    // Frame what is drawn inside the district (streets and grids), not the district's outline.
    const inner = areas.features.filter(f => f.properties.level === "street" || f.properties.level === "grid");
    const bounds = inner.length ? L.geoJSON({type: "FeatureCollection", features: inner}).getBounds() : layer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, {padding: [10, 10]}); else map.setView([30.75, 121.25], 11);

    const points = cams.rows.map(r => ({type: "Feature", properties: {id: r[0], s: r[3], az: r[4], fov: r[5], key: r[6]},
                                         geometry: {type: "Point", coordinates: [r[2], r[1]]}}));
    const index = new Supercluster({radius: 60, maxZoom: 16, map: p => ({bad: p.s === 0 ? 0 : 1}),
                                    reduce: (acc, p) => { acc.bad += p.bad; }});
    index.load(points);
    const markers = L.layerGroup().addTo(map);
    function render() {
      markers.clearLayers();
      const b = map.getBounds(), z = Math.round(map.getZoom());
      const items = index.getClusters([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], z);
      for (const c of items) {
        const [lon, lat] = c.geometry.coordinates, p = c.properties;
        if (p.cluster) {
          const n = p.point_count, bad = p.bad / n, size = 24 + Math.min(20, Math.log10(n) * 5);
          const m = L.marker([lat, lon], {icon: L.divIcon({className: "cam-cluster" + (bad > 0.2 ? " bad" : bad > 0.05 ? " some" : ""),
            html: "<span>" + (p.point_count_abbreviated) + "</span>", iconSize: [size, size]}), keyboard: false});
          m.on("click", () => map.setView([lat, lon], Math.min(index.getClusterExpansionZoom(p.cluster_id), 18)));
          markers.addLayer(m);
        } else {
          const colour = COLOURS[cams.statuses[p.s]] || "#d49b00";
          if (p.az !== null && p.az !== undefined && z >= 15) {
            markers.addLayer(L.polygon(wedge(lat, lon, +p.az, +(p.fov || 60), z >= 17 ? 60 : 120),
              {renderer: canvas, color: colour, weight: 1, fillOpacity: 0.2, interactive: false}));
          }
          const m = L.circleMarker([lat, lon], {renderer: canvas, radius: p.key ? 7 : 5, color: "#fff", weight: 1.5,
                                                fillColor: colour, fillOpacity: 1});
          m.bindTooltip(p.id + " · " + cams.statuses[p.s]);
          m.on("click", () => { location.href = "/video/cameras/" + p.id; });
          markers.addLayer(m);
        }
      }
      el.dataset.drawn = String(items.length);
    }
    map.on("moveend", render);
    render();
    el.dataset.cameras = String(points.length);
    el.dataset.firstRenderMs = String(Math.round(performance.now() - t0));
    el.dataset.ready = "true";
    window.govopsLeaflet = map;
    window.govopsCameras = cams.rows;
    return map;
  }
  window.govopsMap = govopsMap;
})();
